// The report of attention-map scores (docs/study.md, "Fig. 5 measured"): `cmt explain-score` prints
// it, and so can any command that has just written a maps file.
#pragma once
#include <string>

namespace cmt::app {

struct MapScoreRequest {
  std::string maps, dataset;  // the maps file and the dataset with lesion masks
  std::string compare;        // a second maps file on the same samples ("": none)
  std::string json;           // also write every score here ("": no file)
  int tolerance = 0;          // pointing game: voxels the maximum may lie from the lesion
};

// Scores `maps` (and `compare`) against the masks of `dataset`, prints the summary, the paired tests
// with `compare`, and writes the JSON file atomically. Throws cmt::Error naming the file on bad input.
void report_map_scores(const MapScoreRequest& request);

}  // namespace cmt::app
