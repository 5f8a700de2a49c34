// DCMTK's logger (oflog, a log4cplus copy) routed through one appender of ours.
#include "data/dicom_log.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/oflog/spi/logevent.h>

#include <cstdio>
#include <mutex>

namespace cmt::data {

namespace {

namespace log4 = dcmtk::log4cplus;

bool g_configured = false;  // guarded by g_mutex
std::mutex g_mutex;

const char* level_word(log4::LogLevel level) {
  if (level >= log4::FATAL_LOG_LEVEL) return "fatal";
  if (level >= log4::ERROR_LOG_LEVEL) return "error";
  if (level >= log4::WARN_LOG_LEVEL) return "warning";
  if (level >= log4::INFO_LOG_LEVEL) return "info";
  return "debug";
}

// One line per DCMTK event, prefixed so that it reads as detail under cmt's own message.
class CmtAppender : public log4::Appender {
 public:
  ~CmtAppender() override { destructorImpl(); }
  void close() override { closed = true; }

 protected:
  void append(const log4::spi::InternalLoggingEvent& event) override {
    std::fprintf(stderr, "cmt: dcmtk %s: %s\n", level_word(event.getLogLevel()), event.getMessage().c_str());
  }
};

void configure_locked(bool verbose) {
  log4::Logger root = log4::Logger::getRoot();
  root.removeAllAppenders();  // DCMTK's default console appender writes "E: ..." lines itself
  root.addAppender(log4::SharedAppenderPtr(new CmtAppender));
  root.setLogLevel(verbose ? log4::WARN_LOG_LEVEL : log4::OFF_LOG_LEVEL);
  g_configured = true;
}

}  // namespace

void configure_dicom_log(bool verbose) {
  std::lock_guard<std::mutex> lock(g_mutex);
  configure_locked(verbose);
}

void ensure_dicom_log_configured() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_configured) configure_locked(false);
}

}  // namespace cmt::data
