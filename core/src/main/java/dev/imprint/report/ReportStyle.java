package dev.imprint.report;

/** The report's style sheet, inlined into the page. The influence colours come from {@link Html}. */
final class ReportStyle {
    private ReportStyle() {}

    static final String CSS = """
            body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; background: #fff;
                   max-width: 1180px; margin: 0 auto; padding: 1.2em 1.6em 3em; }
            h1 { font-size: 1.6em; margin: 0 0 .5em; }
            h2 { font-size: 1.25em; margin: 1.6em 0 .5em; border-bottom: 2px solid #ddd; padding-bottom: .2em; }
            h3 { font-size: 1.02em; margin: 1em 0 .4em; }
            code, .qa, .heat, .fingerprint { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
            dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1.2em; margin: 0; }
            dl.run dt { font-weight: 600; color: #555; }
            dl.run dd { margin: 0; overflow-wrap: anywhere; }
            .fingerprint { color: #888; font-size: .85em; }
            .filtering.warn { background: #fff1c2; padding: 0 .3em; border-radius: 3px; }
            details.context { margin: .3em 0 0; font-size: .9em; color: #333; }
            details.context p { white-space: pre-wrap; background: #fafafa; border-left: 3px solid #ccc; padding: .4em .7em; margin: .3em 0; }
            details.context mark { background: #fff0b3; }
            .few-tokens { background: #fde8e8; color: #7a1f1f; border-radius: 3px; padding: 0 .35em; font-size: .85em; }
            .unseen { background: #eef; color: #335; border-radius: 3px; padding: 0 .35em; font-size: .85em; }
            table.lds { border-collapse: collapse; margin: .4em 0; }
            table.lds th, table.lds td { padding: .25em .8em; border-bottom: 1px solid #e3e3e3; text-align: right; }
            table.lds th:first-child, table.lds td:first-child { text-align: left; white-space: nowrap; }
            table.lds .text { text-align: left; }
            .unit { background: #f4f6f8; border-left: 4px solid #8aa; padding: .5em .8em; font-size: .92em; }
            nav ol { padding-left: 1.6em; }
            .qa { white-space: pre-wrap; background: #f6f6f8; border-radius: 6px; padding: .6em .8em; font-size: 1.05em; }
            .completion { background: #fff0b3; border-bottom: 2px solid #d9a400; font-weight: 700; white-space: pre-wrap; }
            .measure { color: #333; }
            .charts { display: flex; flex-wrap: wrap; gap: 1.5em 2.5em; align-items: flex-start; }
            figure { margin: 0; max-width: 560px; }
            figcaption, .note { font-size: .85em; color: #555; }
            svg.chart { display: block; overflow: visible; }
            svg.chart text { font-size: 11px; fill: #333; }
            svg.chart .axis-title { font-size: 11.5px; fill: #555; }
            svg.chart .value-label { fill: #555; }
            svg.chart .axis, svg.chart .zero { stroke: #444; stroke-width: 1; }
            svg.chart .grid { stroke: #e5e5e5; stroke-width: 1; }
            svg.chart .point { fill: #3b4a6b; fill-opacity: .8; }
            svg.chart .power-law { stroke: #e07b00; stroke-width: 2; stroke-dasharray: 6 4; }
            svg.chart .fit-label { fill: #b35f00; font-weight: 600; }
            svg.mini-layers { display: inline-block; vertical-align: middle; margin: 0 .6em; background: #fafafa; border: 1px solid #eee; }
            .legend { font-size: .85em; color: #444; }
            .ramp { display: inline-block; width: 7em; height: .9em; vertical-align: middle; border: 1px solid #ccc; }
            ol.hits { padding-left: 0; list-style: none; }
            .hit { border-top: 1px solid #ddd; padding: .6em 0 .8em; }
            .hit-head { display: flex; flex-wrap: wrap; align-items: center; gap: .2em .4em; margin-bottom: .35em; }
            .rank { font-weight: 700; font-size: 1.1em; }
            .pos-text { color: rgb(%s); }
            .neg-text { color: rgb(%s); }
            .where { color: #666; font-size: .88em; }
            .heat { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; line-height: 1.7; background: #fcfcfc;
                    border: 1px solid #eee; border-radius: 4px; padding: .5em .7em; }
            .tok { border-radius: 2px; }
            .tok.dark { color: #fff; }
            .nl { opacity: .4; }
            footer { margin-top: 3em; color: #888; font-size: .85em; }
            """.formatted(Html.POSITIVE_RGB, Html.NEGATIVE_RGB);
}
