/// Text as it may appear inside S3 XML bodies and hand-written JSON.
///
/// Escapes by Unicode scalar, never by `Character`: a grapheme cluster such as `<` followed by a
/// combining mark is one `Character` that is not equal to `"<"`, and escaping by `Character`
/// would let it through into the XML as markup. Scalars XML 1.0 forbids (controls other than tab,
/// line feed and carriage return; U+FFFE, U+FFFF) become U+FFFD, so the body always parses.
public enum XMLEscaping {
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 || $0 < 32 || $0 == 0xEF })
        else {
            return text
        }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&apos;".unicodeScalars)
            default:
                let v = scalar.value
                let allowed = v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v != 0xFFFE && v != 0xFFFF)
                out.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return String(out)
    }
}

/// A string as the inside of a JSON string literal (for the access log and OTLP, which write JSON
/// by hand to stay off Foundation and allocate once).
public enum JSONEscaping {
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 32 || $0 == 34 || $0 == 92 }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 32 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
