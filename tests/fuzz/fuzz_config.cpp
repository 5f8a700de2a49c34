// The JSON run configuration, read as `cmt train --config FILE` reads it: parsing, keys, types and
// validation of every value.
#include "apps/run_config.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = cmt::fuzz::write_file("config.json", data, size);
  CLI::App app;
  cmt::app::RunConfigOptions options;
  options.add_to(app);
  const char* argv[] = {"train", "--config", path.c_str()};
  app.parse(3, const_cast<char**>(argv));
  return cmt::fuzz::refuse_only_with_error([&] {
    options.overrides();
    options.validated();
  });
}
