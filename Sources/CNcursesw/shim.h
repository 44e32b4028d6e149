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
#include <ncursesw/curses.h>
#endif
