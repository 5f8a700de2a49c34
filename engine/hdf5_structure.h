// Reads the whole structure of an HDF5 file: what the forked check of engine/hdf5_guard.h makes
// HDF5 go through before cmt reads the file in its own process.
#pragma once
#include <string>

namespace cmt::hdf5_structure {

// Opens `path` read-only and visits every object reachable from the root group: each group's links
// in name order (as H5Literate lists them), each object's header and attributes (every value read),
// each dataset's shape, type, layout, chunk index (walked whole) and first element. Pixel and
// tensor data beyond the first element are not read. Throws cmt::Error on any HDF5 failure, but
// returns at once for a file that is not HDF5 or that HDF5 cannot open (its reader says so).
void read_all(const std::string& path);

}  // namespace cmt::hdf5_structure
