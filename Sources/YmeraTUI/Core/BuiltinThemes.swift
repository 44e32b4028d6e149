// Generated from themes/*.toml (a test checks they match): the shipped themes, so `--theme NAME`
// works wherever the binary is installed.
enum BuiltinThemes {
    static let defaultTheme = #"""
# YMERA default theme (dark background). Every role is defined here; other themes override only
# what they change. Colours: "default" (the terminal's own), "#rrggbb", 0–255, an ANSI name
# (black, red, green, yellow, blue, magenta, cyan, white, bright-*), or a name from [palette].
# attrs: bold, reverse, underline, dim, italic. mono: attributes used when colours are off
# (NO_COLOR, or a terminal without colours), so every state stays distinguishable.
name = "default"
description = "dark background, muted blue accents"

[palette]
accent = "#5fafff"
ok = "#87d787"
warn = "#ffd75f"
bad = "#ff5f5f"
info = "#87afd7"
faint = "#808080"
panel = "#262626"
select = "#3a3a3a"

[role.normal]
fg = "default"
[role.muted]
fg = "faint"
mono = ["dim"]
[role.border]
fg = "#585858"
[role.border_focus]
fg = "accent"
mono = ["bold"]
[role.title]
fg = "accent"
attrs = ["bold"]
mono = ["bold"]
[role.header]
fg = "#e4e4e4"
bg = "panel"
mono = ["reverse"]
[role.header_label]
fg = "faint"
bg = "panel"
mono = ["reverse"]
[role.badge_simulated]
fg = "black"
bg = "warn"
attrs = ["bold"]
mono = ["bold", "underline"]
[role.badge_local]
fg = "black"
bg = "ok"
attrs = ["bold"]
mono = ["bold", "underline"]
[role.badge_cloud]
fg = "black"
bg = "accent"
attrs = ["bold"]
mono = ["bold", "underline"]
[role.selected]
bg = "select"
attrs = ["bold"]
mono = ["reverse"]
[role.pending]
fg = "faint"
mono = ["dim"]
[role.running]
fg = "accent"
attrs = ["bold"]
mono = ["bold"]
[role.done]
fg = "ok"
[role.failed]
fg = "bad"
attrs = ["bold"]
mono = ["bold", "reverse"]
[role.retrying]
fg = "warn"
mono = ["underline"]
[role.paused]
fg = "magenta"
attrs = ["bold"]
mono = ["bold", "underline"]
[role.skipped]
fg = "faint"
attrs = ["dim"]
mono = ["dim"]
[role.breaker_closed]
fg = "ok"
[role.breaker_open]
fg = "bad"
attrs = ["bold"]
mono = ["reverse"]
[role.breaker_half_open]
fg = "warn"
mono = ["underline"]
[role.log_info]
fg = "default"
[role.log_warn]
fg = "warn"
mono = ["underline"]
[role.log_error]
fg = "bad"
mono = ["bold"]
[role.splice]
fg = "black"
bg = "warn"
mono = ["reverse"]
[role.footer]
fg = "#bcbcbc"
bg = "panel"
mono = ["reverse"]
[role.footer_key]
fg = "accent"
bg = "panel"
attrs = ["bold"]
mono = ["reverse", "bold"]
[role.score_good]
fg = "ok"
mono = ["bold"]
[role.score_mid]
fg = "warn"
[role.score_bad]
fg = "bad"
mono = ["underline"]
[role.input]
fg = "default"
bg = "#303030"
mono = ["underline"]
[role.error]
fg = "bad"
attrs = ["bold"]
mono = ["bold"]
[role.prompt]
fg = "black"
bg = "accent"
attrs = ["bold"]
mono = ["reverse", "bold"]
[role.read_only]
fg = "black"
bg = "info"
attrs = ["bold"]
mono = ["reverse"]
"""#
    static let light = #"""
# Light background: only what differs from the default theme.
name = "light"
description = "for light terminal backgrounds"

[palette]
accent = "#005fd7"
ok = "#008700"
warn = "#af5f00"
bad = "#d70000"
info = "#0087af"
faint = "#6c6c6c"
panel = "#e4e4e4"
select = "#d0d0d0"

[role.border]
fg = "#a8a8a8"
[role.header]
fg = "#1c1c1c"
[role.footer]
fg = "#303030"
[role.input]
bg = "#eeeeee"
[role.badge_simulated]
fg = "white"
[role.badge_local]
fg = "white"
[role.badge_cloud]
fg = "white"
[role.splice]
fg = "white"
[role.prompt]
fg = "white"
[role.read_only]
fg = "white"
"""#
    static let highContrast = #"""
# High contrast: pure colours, bold states, reverse selection.
name = "high-contrast"
description = "maximum contrast, bold states"

[palette]
accent = "bright-cyan"
ok = "bright-green"
warn = "bright-yellow"
bad = "bright-red"
info = "bright-white"
faint = "white"
panel = "black"
select = "white"

[role.normal]
fg = "bright-white"
[role.border]
fg = "bright-white"
[role.done]
attrs = ["bold"]
[role.selected]
fg = "black"
bg = "bright-white"
attrs = ["bold"]
[role.header]
fg = "bright-white"
attrs = ["bold"]
[role.footer]
fg = "bright-white"
"""#
    static let solarized = #"""
# Solarized dark palette.
name = "solarized"
description = "Solarized dark palette"

[palette]
accent = "#268bd2"
ok = "#859900"
warn = "#b58900"
bad = "#dc322f"
info = "#2aa198"
faint = "#586e75"
panel = "#073642"
select = "#0e4b5a"

[role.normal]
fg = "#93a1a1"
[role.header]
fg = "#eee8d5"
[role.paused]
fg = "#d33682"
[role.border]
fg = "#586e75"
"""#
    static let all: [(String, String)] = [
        ("default", defaultTheme),
        ("light", light),
        ("high-contrast", highContrast),
        ("solarized", solarized),
    ]
}
