#ifndef YMERA_CNCURSESW_SHIM_H
#define YMERA_CNCURSESW_SHIM_H
// The wide-character API is hidden unless these are defined before the first include,
// and SwiftPM drops pkg-config's -D flags (notes/terminal.md, fact 1).
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <ncursesw/curses.h>

// Globals Swift 6 refuses to touch (fact 3), wrapped as getters.
static inline WINDOW *ymera_stdscr(void) { return stdscr; }
static inline int ymera_colors(void) { return COLORS; }
static inline int ymera_color_pairs(void) { return COLOR_PAIRS; }
static inline int ymera_lines(void) { return LINES; }
static inline int ymera_cols(void) { return COLS; }

// Attribute macros (fact 2).
static inline attr_t ymera_a_normal(void) { return A_NORMAL; }
static inline attr_t ymera_a_bold(void) { return A_BOLD; }
static inline attr_t ymera_a_reverse(void) { return A_REVERSE; }
static inline attr_t ymera_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ymera_a_dim(void) { return A_DIM; }
static inline attr_t ymera_a_italic(void) { return A_ITALIC; }

// Mouse macros (fact 2).
static inline mmask_t ymera_all_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
static inline mmask_t ymera_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t ymera_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t ymera_button1_clicked(void) { return BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED; }
static inline mmask_t ymera_button4_pressed(void) { return BUTTON4_PRESSED; }
#ifdef BUTTON5_PRESSED
static inline mmask_t ymera_button5_pressed(void) { return BUTTON5_PRESSED; }
#else
static inline mmask_t ymera_button5_pressed(void) { return 0; }
#endif

static inline void ymera_setlocale(void) { setlocale(LC_ALL, ""); }

/// newterm on the process's stdout/stdin: NULL (not exit) on an unknown TERM (fact 4).
static inline SCREEN *ymera_newterm(const char *term) { return newterm(term, stdout, stdin); }

/// newterm on given descriptors (benchmarks draw to /dev/null with no terminal attached).
static inline SCREEN *ymera_newterm_fds(const char *term, int out_fd, int in_fd) {
    FILE *out = fdopen(out_fd, "w");
    FILE *in = fdopen(in_fd, "r");
    if (!out || !in) return NULL;
    return newterm(term, out, in);
}

/// Reads one wide character or key code; returns ERR, OK or KEY_CODE_YES.
static inline int ymera_get_wch(WINDOW *w, unsigned int *out) {
    wint_t c = 0;
    int r = wget_wch(w, &c);
    *out = (unsigned int)c;
    return r;
}

/// Sets attributes and a colour pair (pairs beyond 32767 go through the extended `opts` argument).
static inline void ymera_set_attr(WINDOW *w, attr_t attrs, int pair) {
    wattr_set(w, attrs, (short)(pair > 32767 ? 0 : pair), (void *)&pair);
}

/// Draws `n` wide characters at (y, x) with the window's current attributes.
static inline int ymera_put_wide(WINDOW *w, int y, int x, const wchar_t *text, int n) {
    return mvwaddnwstr(w, y, x, text, n);
}

static inline int ymera_alloc_pair(int fg, int bg) { return alloc_pair(fg, bg); }

// Crash path (fact 11): a fatal signal restores the terminal, then dies with the same signal.
static int ymera_curses_active = 0;
static inline void ymera_set_curses_active(int on) { ymera_curses_active = on; }
static void ymera_fatal_handler(int sig) {
    if (ymera_curses_active) {
        ymera_curses_active = 0;
        endwin();
        // Make sure the cursor and the main screen come back even if endwin could not finish.
        static const char reset[] = "\033[?1049l\033[?25h\033[0m\r\n";
        ssize_t ignored = write(STDOUT_FILENO, reset, sizeof(reset) - 1);
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}
static inline void ymera_install_crash_handlers(void) {
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = ymera_fatal_handler;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

// SIGINT / SIGTERM / SIGHUP: the self-pipe trick. The handler only writes a byte; the loop
// (the one curses owner) sees it in poll(2), restores the terminal and exits.
static int ymera_signal_fd = -1;
static volatile sig_atomic_t ymera_last_signal = 0;
static void ymera_quit_handler(int sig) {
    ymera_last_signal = sig;
    if (ymera_signal_fd >= 0) {
        char b = 'S';
        ssize_t ignored = write(ymera_signal_fd, &b, 1);
        (void)ignored;
    }
}
static inline void ymera_install_quit_handlers(int fd) {
    ymera_signal_fd = fd;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = ymera_quit_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}
static inline int ymera_take_signal(void) {
    int s = ymera_last_signal;
    ymera_last_signal = 0;
    return s;
}
// SIGWINCH stays ncurses' (KEY_RESIZE comes from wget_wch): we only chain after its handler so a
// resize also wakes the UI thread's poll(2) — the signal may land on any thread of the process.
static inline struct sigaction *ymera_prev_winch_slot(void) {
    static struct sigaction slot;
    return &slot;
}
static int ymera_winch_chained = 0;
static volatile sig_atomic_t ymera_winch_seen = 0;
static void ymera_winch_handler(int sig, siginfo_t *info, void *ctx) {
    ymera_winch_seen = 1;
    struct sigaction *prev = ymera_prev_winch_slot();
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) prev->sa_sigaction(sig, info, ctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    }
    if (ymera_signal_fd >= 0) {
        char b = 'W';
        ssize_t ignored = write(ymera_signal_fd, &b, 1);
        (void)ignored;
    }
}
static inline void ymera_chain_winch(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = ymera_winch_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGWINCH, &sa, ymera_prev_winch_slot()) == 0) ymera_winch_chained = 1;
}
static inline int ymera_take_winch(void) {
    int s = ymera_winch_seen;
    ymera_winch_seen = 0;
    return s;
}

static inline void ymera_restore_default_signals(void) {
    if (ymera_winch_chained) {
        sigaction(SIGWINCH, ymera_prev_winch_slot(), NULL);
        ymera_winch_chained = 0;
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    ymera_signal_fd = -1;
}

#endif
