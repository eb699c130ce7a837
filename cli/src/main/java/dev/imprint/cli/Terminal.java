package dev.imprint.cli;

/** Text from corpora and queries made safe to print on one terminal line. */
final class Terminal {
    private Terminal() {}

    /**
     * Whitespace runs become one space; other control characters (ESC, which would drive the
     * terminal, NUL, …) become their visible symbols (␛, ␀, …); an unpaired surrogate becomes U+FFFD.
     */
    static String line(String s) {
        String collapsed = s.replaceAll("\\s+", " ");
        StringBuilder out = new StringBuilder(collapsed.length());
        for (int i = 0; i < collapsed.length(); i++) {
            char c = collapsed.charAt(i);
            if (c < 0x20) out.append((char) (0x2400 + c));
            else if (c == 0x7F) out.append('\u2421');
            else if (c >= 0x80 && c < 0xA0) out.append('\uFFFD');
            else if (Character.isHighSurrogate(c) && i + 1 < collapsed.length() && Character.isLowSurrogate(collapsed.charAt(i + 1)))
                out.append(c).append(collapsed.charAt(++i));
            else if (Character.isSurrogate(c)) out.append('\uFFFD');
            else out.append(c);
        }
        return out.toString();
    }
}
