// A plugin whose registration throws: the load fails with this reason.
#include "portico/portico.hpp"

#include <stdexcept>

PORTICO_PLUGIN("init_fails", "1.0", reg) {
    (void)reg;
    throw std::runtime_error("database connection string missing");
}
