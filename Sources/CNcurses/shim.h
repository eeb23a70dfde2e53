// The few pieces of ncursesw that Swift cannot import directly (macros,
// variadic or macro-named globals, wide-character cell output), as small
// static inline functions. Only ktop's terminal backend uses this module.
#ifndef KTOP_CNCURSES_SHIM_H
#define KTOP_CNCURSES_SHIM_H

#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <locale.h>
#include <langinfo.h>
#include <string.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

/// setlocale(LC_ALL, "") and whether the resulting codeset is UTF-8.
static inline int ktop_setlocale_utf8(void) {
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    return cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static inline WINDOW *ktop_stdscr(void) { return stdscr; }
static inline int ktop_lines(void) { return LINES; }
static inline int ktop_cols(void) { return COLS; }
static inline int ktop_colors(void) { return COLORS; }
static inline int ktop_color_pairs(void) { return COLOR_PAIRS; }
static inline int ktop_key_f(int n) { return KEY_F(n); }
static inline int ktop_set_escdelay(int ms) { return set_escdelay(ms); }

/// Our attribute bits (1 bold, 2 underline, 4 reverse, 8 dim) as curses attributes.
static inline attr_t ktop_attrs(unsigned bits) {
    attr_t a = A_NORMAL;
    if (bits & 1u) a |= A_BOLD;
    if (bits & 2u) a |= A_UNDERLINE;
    if (bits & 4u) a |= A_REVERSE;
    if (bits & 8u) a |= A_DIM;
    return a;
}

/// Writes one cell: a single code point with attributes and a colour pair.
static inline int ktop_put_cell(int y, int x, unsigned codepoint, unsigned attrbits, int pair) {
    wchar_t w[2];
    w[0] = (wchar_t)codepoint;
    w[1] = L'\0';
    cchar_t c;
    if (setcchar(&c, w, ktop_attrs(attrbits), (short)pair, NULL) != OK) return ERR;
    return mvwadd_wch(stdscr, y, x, &c);
}

/// Enables every mouse event we use; returns the mask actually granted.
static inline unsigned long ktop_mouse_on(void) {
    mmask_t old = 0;
    return (unsigned long)mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, &old);
}

/// Reads a pending mouse event: returns 1 and fills x, y and kind
/// (1 left button, 4 wheel up, 5 wheel down, 0 other), or 0 if none.
static inline int ktop_get_mouse(int *x, int *y, int *kind) {
    MEVENT e;
    if (getmouse(&e) != OK) return 0;
    *x = e.x;
    *y = e.y;
    if (e.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) *kind = 1;
    else if (e.bstate & BUTTON4_PRESSED) *kind = 4;
#ifdef BUTTON5_PRESSED
    else if (e.bstate & BUTTON5_PRESSED) *kind = 5;
#endif
    else *kind = 0;
    return 1;
}

/// wget_wch on stdscr: returns OK (character), KEY_CODE_YES (function key) or ERR.
static inline int ktop_get_wch(unsigned *out) {
    wint_t w = 0;
    int r = wget_wch(stdscr, &w);
    *out = (unsigned)w;
    return r;
}

#endif
