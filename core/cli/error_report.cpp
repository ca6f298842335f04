#include "cli/error_report.h"

#include "manifest/diagnostic_printer.h"

#include <anvil/errors.h>

#include <boost/program_options/errors.hpp>
#include <c10/util/Exception.h>

#include <iostream>

namespace anvil::core {

namespace {
void print_hint(const Error& e) {
  if (!e.hint().empty()) std::cerr << "HINT: " << e.hint() << "\n";
}
}  // namespace

int run_reporting_errors(std::string_view command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const ConfigError& e) {
    print_diagnostics(std::cerr, e.diagnostics());
    const auto n = e.diagnostics().size();
    std::cerr << n << (n == 1 ? " error" : " errors") << " generated.\n";
    return e.exit_code();
  } catch (const PluginError& e) {
    std::cerr << "error: " << e.what() << "\n";
    print_hint(e);
    return e.exit_code();
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    print_hint(e);
    return e.exit_code();
  } catch (const boost::program_options::error& e) {
    std::cerr << "error: " << e.what() << "\n";
    std::cerr << "HINT: run 'anvil " << command << " --help' for usage\n";
    return kExitConfig;
  } catch (const c10::Error& e) {
    // A LibTorch error the core did not attribute: its message without LibTorch's backtrace.
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  } catch (...) {
    std::cerr << "error: an exception not derived from std::exception\n";
    return kExitFailure;
  }
}

}  // namespace anvil::core
