#pragma once

// REDSINK_RECORD_MEMBERS: declares a record's members and adapts it for reflection, as
// BOOST_HANA_DEFINE_STRUCT does, for up to 256 members (Hana's macro stops at 39):
//
//   struct Order {
//       REDSINK_RECORD_MEMBERS(Order,
//           (std::int64_t, id)
//           (redsink::decimal<12, 2>, amount)
//           (std::optional<std::string>, note));
//   };
//
// Each member is (type, name), one after the other without commas between them. The type may
// hold commas (decimal<12, 2>): the name is the last element. See docs/types.md.
#include <boost/hana/define_struct.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/preprocessor/arithmetic/dec.hpp>
#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/seq/variadic_seq_to_seq.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/tuple/elem.hpp>
#include <boost/preprocessor/tuple/enum.hpp>
#include <boost/preprocessor/tuple/pop_back.hpp>
#include <boost/preprocessor/tuple/size.hpp>

#define REDSINK_DETAIL_MEMBER_NAME(member) BOOST_PP_TUPLE_ELEM(BOOST_PP_DEC(BOOST_PP_TUPLE_SIZE(member)), member)
#define REDSINK_DETAIL_MEMBER_TYPE(member) BOOST_PP_TUPLE_ENUM(BOOST_PP_TUPLE_POP_BACK(member))

#define REDSINK_DETAIL_DECLARE(r, data, i, member) \
    REDSINK_DETAIL_MEMBER_TYPE(member) REDSINK_DETAIL_MEMBER_NAME(member);
#define REDSINK_DETAIL_NAME(r, data, i, member) \
    BOOST_PP_COMMA_IF(i) BOOST_PP_STRINGIZE(REDSINK_DETAIL_MEMBER_NAME(member))
#define REDSINK_DETAIL_ACCESSOR(r, type, i, member)                                                   \
    BOOST_PP_COMMA_IF(i)                                                                              \
    ::boost::hana::make_pair(                                                                         \
        ::boost::hana::struct_detail::prepare_member_name<i, member_names>(),                         \
        ::boost::hana::struct_detail::member_ptr<decltype(&type::REDSINK_DETAIL_MEMBER_NAME(member)), \
                                                 &type::REDSINK_DETAIL_MEMBER_NAME(member)>{})

#define REDSINK_RECORD_MEMBERS(TYPE, MEMBERS)                                                                    \
    BOOST_PP_SEQ_FOR_EACH_I(REDSINK_DETAIL_DECLARE, ~, BOOST_PP_VARIADIC_SEQ_TO_SEQ(MEMBERS))                    \
    struct hana_accessors_impl {                                                                                 \
        static constexpr auto apply() {                                                                          \
            struct member_names {                                                                                \
                static constexpr auto get() {                                                                    \
                    return ::boost::hana::make_tuple(                                                            \
                        BOOST_PP_SEQ_FOR_EACH_I(REDSINK_DETAIL_NAME, ~, BOOST_PP_VARIADIC_SEQ_TO_SEQ(MEMBERS))); \
                }                                                                                                \
            };                                                                                                   \
            return ::boost::hana::make_tuple(                                                                    \
                BOOST_PP_SEQ_FOR_EACH_I(REDSINK_DETAIL_ACCESSOR, TYPE, BOOST_PP_VARIADIC_SEQ_TO_SEQ(MEMBERS)));  \
        }                                                                                                        \
    }
