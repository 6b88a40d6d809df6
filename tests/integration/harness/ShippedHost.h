// ShippedHost.h — a portico process serving the plugins we ship, for the
// many tests that need nothing but a service or two of them on 127.0.0.1:0.
// Not yet waited for: call wait_ready() (or wait_exit() for a refused config).
//
//   auto host = start_upper(dir, [](ServiceSpec &s) { s.option("idle_timeout", "2s"); });
//   ASSERT_TRUE(host->wait_ready());
#pragma once

#include "harness/ConfigBuilder.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"

#include <functional>
#include <memory>

namespace portico::test {

// A host with the shipped echo, upper, threadname and http_hello plugins;
// `add_services` adds the services.
std::unique_ptr<PorticoProcess> start_shipped(const TempDir &dir,
                                              const std::function<void(ConfigBuilder &)> &add_services);

// A host serving upper.upper as service "upper", its entry tuned by `tune`.
std::unique_ptr<PorticoProcess> start_upper(const TempDir &dir, const std::function<void(ServiceSpec &)> &tune = {});

} // namespace portico::test
