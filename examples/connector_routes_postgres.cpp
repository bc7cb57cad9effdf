// The connector program's sinks of the postgres dialect, delivering at least once (connector_routes.hpp).
#include "connector_routes.hpp"

namespace connector {

void route_postgres(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                    OnTable on_table) {
    route_with<redsink::postgres, redsink::at_least_once>(connector, settings, give_up, on_table);
}

}  // namespace connector
