// replay_main.cpp — runs a libFuzzer target over every file of the corpus
// directories given as arguments, so g++ builds (no libFuzzer) still check
// the target and its corpus in the ordinary test suite.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    std::size_t files = 0;
    for (int i = 1; i < argc; ++i) {
        for (const auto &entry : std::filesystem::recursive_directory_iterator(argv[i])) {
            if (!entry.is_regular_file()) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
            ++files;
        }
    }
    if (files == 0) {
        std::fprintf(stderr, "replay: no corpus files found in the given directories\n");
        return 1;
    }
    std::printf("replay: %zu input(s) ran cleanly\n", files);
    return 0;
}
