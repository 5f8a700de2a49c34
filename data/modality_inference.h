// Which modality a set of inputs is, from what their files say: `cmt prepare` without --modality.
// Guessing CT for radiographs would resample every 2D image into a volume of copies of itself.
#pragma once
#include <string>
#include <vector>

namespace cmt::data {

// "ct" for the DICOM Modality CT, "xray" for computed / digital radiography (CR, DX, DR), "" for
// any other value (the files do not settle it).
std::string modality_of_dicom(const std::string& tag);

// What the files of one candidate sample say: a modality ("ct", "xray" or "" for unknown), the
// sample and a reason for messages ("DICOM Modality DX", "a single PNG image").
struct ModalityEvidence {
  std::string modality, source, why;
};

// The one modality the evidence agrees on, ignoring samples that do not say. Throws cmt::Error
// naming `input` when samples disagree (an example of each) or none says; both ask for --modality.
std::string infer_modality(const std::vector<ModalityEvidence>& evidence, const std::string& input);

// One line for the prepare summary: "xray (inferred from 30 samples: a single PNG image, ...)".
std::string describe_inference(const std::vector<ModalityEvidence>& evidence, const std::string& modality);

}  // namespace cmt::data
