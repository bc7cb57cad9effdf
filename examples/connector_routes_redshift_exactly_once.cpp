// The connector program's sinks of the redshift dialect, delivering exactly once (connector_routes.hpp).
#include "connector_routes.hpp"

namespace connector {

void route_redshift_exactly_once(redsink::kafka::Connector& connector, const Settings& settings,
                                 std::stop_token give_up, OnTable on_table) {
    route_with<redsink::redshift, redsink::exactly_once>(connector, settings, give_up, on_table);
}

}  // namespace connector
