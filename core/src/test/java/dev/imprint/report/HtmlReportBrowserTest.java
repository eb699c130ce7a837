package dev.imprint.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Renders report.html in headless Chromium (Debian package {@code chromium}; another binary through
 * the environment variable IMPRINT_CHROMIUM) and checks what a reader would see: the heatmap spans
 * and the SVG charts laid out with a size, the influence colours as computed styles, and a
 * screenshot. Skipped, saying why, when no Chromium is installed.
 */
class HtmlReportBrowserTest {
    private static final int TIMEOUT_S = 120;
    /**
     * Appended to a copy of the report (the report itself has no script): measures elements after
     * layout and writes the counts into the page, which --dump-dom then prints.
     */
    private static final String PROBE = """
            <script>
            const all = s => Array.from(document.querySelectorAll(s));
            const shown = e => { const r = e.getBoundingClientRect(), c = getComputedStyle(e);
              return r.width > 0 && r.height > 0 && c.visibility !== 'hidden' && c.display !== 'none'; };
            const probe = {
              tokens: all('.heat span.tok').length, shownTokens: all('.heat span.tok').filter(shown).length,
              charts: all('svg.chart').length, shownCharts: all('svg.chart').filter(shown).length,
              shownLayerCharts: all('svg.chart.layers').filter(shown).length,
              shownCcdfCharts: all('svg.chart.ccdf').filter(shown).length,
              shownPowerLaw: all('svg.chart.ccdf line.power-law').filter(shown).length,
              shownPoints: all('svg.chart.ccdf circle.point').filter(shown).length,
              shownBars: all('svg.chart rect.bar').filter(shown).length, bars: all('svg.chart rect.bar').length,
              strongest: getComputedStyle(document.querySelector('.tok.pos.dark')).backgroundColor,
              negative: getComputedStyle(document.querySelector('.tok.neg')).backgroundColor,
              completion: getComputedStyle(document.querySelector('.qa .completion')).backgroundColor,
              whiteSpace: getComputedStyle(document.querySelector('.heat')).whiteSpace };
            const out = document.createElement('pre'); out.id = 'probe'; out.textContent = JSON.stringify(probe);
            document.body.appendChild(out);
            </script>
            """;

    @TempDir Path dir;

    @Test
    void chromiumRendersTheHeatmapsAndChartsVisibly() throws Exception {
        Path chromium = chromium();
        assumeTrue(chromium != null, "headless Chromium not found (apt-get install -y chromium, or set IMPRINT_CHROMIUM): browser test skipped");
        Results results = ReportFixtures.results("10000");
        ResultsJson.write(dir, results);
        String html = Files.readString(HtmlReport.write(dir));
        Path probed = dir.resolve("probed.html");
        Files.writeString(probed, html.replace("</body>", PROBE + "</body>"));

        String dom = run(chromium, List.of("--dump-dom", probed.toUri().toString()));
        int tokens = results.queries().stream().mapToInt(q -> q.top().stream().mapToInt(t -> t.tokens().size()).sum()).sum();
        assertEquals(tokens, count(dom, "<span class=\"tok "), "every token span survives parsing");
        assertTrue(dom.contains("<svg class=\"chart ccdf\"") && dom.contains("class=\"power-law\""), "charts in the DOM");

        JsonNode probe = probe(dom);
        assertEquals(tokens, probe.get("tokens").asInt());
        assertEquals(tokens, probe.get("shownTokens").asInt(), "every token span is laid out with a size: " + probe);
        int charts = 2 + 1 + 4; // two layer summaries, one CCDF (the second query has no distribution), four mini strips
        assertEquals(charts, probe.get("charts").asInt());
        assertEquals(charts, probe.get("shownCharts").asInt(), probe.toString());
        assertEquals(2, probe.get("shownLayerCharts").asInt());
        assertEquals(1, probe.get("shownCcdfCharts").asInt());
        assertEquals(1, probe.get("shownPowerLaw").asInt(), "the fitted power-law line is drawn");
        assertTrue(probe.get("shownPoints").asInt() >= 10, probe.toString());
        assertEquals(probe.get("bars").asInt(), probe.get("shownBars").asInt(), "every layer bar has a size");
        assertEquals("rgb(" + Html.POSITIVE_RGB.replace(",", ", ") + ")", probe.get("strongest").asText(), "strongest token in red");
        assertTrue(probe.get("negative").asText().startsWith("rgba(" + Html.NEGATIVE_RGB.replace(",", ", ")), probe.toString());
        assertEquals("pre-wrap", probe.get("whiteSpace").asText());
        assertTrue(!probe.get("completion").asText().equals("rgba(0, 0, 0, 0)"), "the completion is highlighted");

        Path png = dir.resolve("report.png");
        run(chromium, List.of("--screenshot=" + png, "--window-size=1280,2000", HtmlReport.write(dir).toUri().toString()));
        assertTrue(Files.exists(png), "screenshot written");
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(bytes, 4));
        assertTrue(bytes.length > 30_000, "a screenshot of a rendered page, not a blank one: " + bytes.length + " bytes");
    }

    /** IMPRINT_CHROMIUM, else chromium or chromium-browser on the usual paths; null when none. */
    private static Path chromium() {
        List<String> candidates = new ArrayList<>();
        String configured = System.getenv("IMPRINT_CHROMIUM");
        if (configured != null && !configured.isBlank()) candidates.add(configured);
        candidates.addAll(List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/local/bin/chromium"));
        return candidates.stream().map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
    }

    /** Runs headless Chromium with a fresh profile; returns its standard output. */
    private String run(Path chromium, List<String> args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(dir, "profile");
        List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(args);
        Path stdout = Files.createTempFile(dir, "chromium", ".out"), stderr = Files.createTempFile(dir, "chromium", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("chromium did not finish in " + TIMEOUT_S + " s: " + tail(stderr));
        }
        assertEquals(0, p.exitValue(), () -> "chromium failed: " + tail(stderr));
        return Files.readString(stdout);
    }

    private static String tail(Path file) {
        try {
            String s = Files.readString(file);
            return s.substring(Math.max(0, s.length() - 2000));
        } catch (IOException e) {
            return "(no stderr: " + e.getMessage() + ")";
        }
    }

    private static JsonNode probe(String dom) throws IOException {
        Matcher m = Pattern.compile("<pre id=\"probe\">(.*?)</pre>", Pattern.DOTALL).matcher(dom);
        assertTrue(m.find(), "the probe ran (JavaScript enabled in headless Chromium)");
        String json = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        return new ObjectMapper().readTree(json);
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
