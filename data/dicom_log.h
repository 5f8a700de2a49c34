// Where DCMTK's own log lines go. DCMTK prints "E: ..."/"W: ..." lines to stderr by itself; cmt
// already reports a bad file once, naming it, so DCMTK stays quiet unless the user asks for detail.
#pragma once

namespace cmt::data {

// verbose = false: DCMTK logs nothing. verbose = true: its warnings and errors go to stderr as
// "cmt: dcmtk warning: ..." / "cmt: dcmtk error: ...". Safe to call again; the last call wins.
void configure_dicom_log(bool verbose);

// Quiet by default: the first DICOM read calls this, which configures only when nothing has yet.
void ensure_dicom_log_configured();

}  // namespace cmt::data
