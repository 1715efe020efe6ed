#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

struct SequenceScan {
    size_t bytes;  // length of the valid sequence, or of the maximal invalid subpart
    bool valid;
};

SequenceScan scan_sequence(std::string_view text, size_t pos) {
    const unsigned lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) return {1, true};
    size_t length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
    else return {1, false};
    // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
    unsigned lo = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    unsigned hi = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    for (size_t i = 1; i < length; ++i) {
        if (pos + i >= text.size()) return {i, false};
        const unsigned next = static_cast<unsigned char>(text[pos + i]);
        if (next < lo || next > hi) return {i, false};
        lo = 0x80;
        hi = 0xBF;
    }
    return {length, true};
}

}  // namespace

char32_t decode_char(std::string_view text, size_t pos) {
    const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i])); };
    switch (char_length(static_cast<unsigned char>(text[pos]))) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::vector<char32_t> to_code_points(std::string_view valid_text) {
    std::vector<char32_t> out;
    out.reserve(valid_text.size());
    for (size_t pos = 0; pos < valid_text.size(); pos += char_length(static_cast<unsigned char>(valid_text[pos])))
        out.push_back(decode_char(valid_text, pos));
    return out;
}

std::string from_code_points(const std::vector<char32_t>& code_points) {
    std::string out;
    out.reserve(code_points.size());
    for (char32_t cp : code_points) append_utf8(out, cp);
    return out;
}

bool is_valid_utf8(std::string_view bytes) {
    for (size_t pos = 0; pos < bytes.size();) {
        const SequenceScan scan = scan_sequence(bytes, pos);
        if (!scan.valid) return false;
        pos += scan.bytes;
    }
    return true;
}

std::string to_valid_utf8_lossy(std::string_view bytes) {
    if (is_valid_utf8(bytes)) return std::string(bytes);
    std::string out;
    out.reserve(bytes.size() + 8);
    for (size_t pos = 0; pos < bytes.size();) {
        const SequenceScan scan = scan_sequence(bytes, pos);
        if (scan.valid) out.append(bytes.substr(pos, scan.bytes));
        else out += "\xEF\xBF\xBD";  // U+FFFD
        pos += scan.bytes;
    }
    return out;
}

bool ends_with_replacement_char(std::string_view text) {
    return text.size() >= 3 && text.substr(text.size() - 3) == "\xEF\xBF\xBD";
}

bool is_white_space(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

}  // namespace attn::tokenizer
