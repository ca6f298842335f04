#include "data/data_options.h"

namespace anvil::core {

const OptionBinding<CleanOptions>& clean_binding() {
  static const OptionBinding<CleanOptions> binding = [] {
    OptionBinding<CleanOptions> b;
    b.bind_choice("normalize", &CleanOptions::normalize,
                  {{"nfc", Normalization::nfc}, {"nfkc", Normalization::nfkc}, {"none", Normalization::none}},
                  "Unicode normalization form: nfc, nfkc or none.");
    b.bind_choice("invalid_utf8", &CleanOptions::invalid_utf8,
                  {{"repair", InvalidUtf8Policy::repair}, {"drop", InvalidUtf8Policy::drop}},
                  "Invalid UTF-8: repair (each bad sequence becomes U+FFFD) or drop the document.");
    b.bind("strip_control", &CleanOptions::strip_control,
           "Remove control characters other than line feed and tab.");
    b.bind("min_chars", &CleanOptions::min_chars, "Shortest document kept, in characters after cleaning.");
    b.bind("max_chars", &CleanOptions::max_chars, "Longest document kept, in characters; 0 for no limit.");
    b.bind("min_words", &CleanOptions::min_words, "Fewest whitespace-separated words a kept document has.");
    b.bind("max_symbol_ratio", &CleanOptions::max_symbol_ratio,
           "Largest fraction of characters that are not letters, digits, marks or spaces; 1 "
           "disables the filter.")
        .range(0, 1);
    b.bind("max_repeated_line_ratio", &CleanOptions::max_repeated_line_ratio,
           "Largest fraction of a document's lines that repeat an earlier line of it; 1 disables "
           "the filter.")
        .range(0, 1);
    return b;
  }();
  return binding;
}

const OptionBinding<DedupOptions>& dedup_binding() {
  static const OptionBinding<DedupOptions> binding = [] {
    OptionBinding<DedupOptions> b;
    b.bind("exact", &DedupOptions::exact, "Remove documents whose cleaned text equals an earlier one's.");
    b.bind("near", &DedupOptions::near, "Remove near duplicates (MinHash + LSH).");
    b.bind("shingle", &DedupOptions::shingle, "Words per shingle for MinHash.").min(1);
    b.bind("permutations", &DedupOptions::permutations, "MinHash signature length (a multiple of bands).")
        .range(1, 1024);
    b.bind("bands", &DedupOptions::bands, "LSH bands; more bands find less similar pairs as candidates.")
        .range(1, 1024);
    b.bind("threshold", &DedupOptions::threshold,
           "Estimated Jaccard similarity of word shingles at or above which a document is a near "
           "duplicate of an earlier one.")
        .range(0, 1);
    return b;
  }();
  return binding;
}

}  // namespace anvil::core
