/* The first three numbers and the token count (up to 4) of every line of a text file.
 *
 * The fast path of reader/skeleton.py: -gd reads ~114k NTU files, and converting their numbers
 * dominates. Tokens are separated by spaces, tabs or '\r'; lines end with '\n'. A token that is
 * not a plain decimal number reads as NaN; Python then re-reads that file the careful way,
 * which names the bad line. Built and loaded by reader/native.py; with no C compiler the
 * numpy path does the same work, slower.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* strtod on a NUL-terminated copy: rare tokens (exponents, long mantissas). Only decimal
 * notation: strtod would also take hex, "inf" and "nan", which float() reads differently. */
static double slow_number(const char *start, const char *end) {
    char copy[64];
    size_t n = (size_t)(end - start);
    if (n >= sizeof copy) return NAN;
    for (const char *p = start; p < end; ++p)
        if (!strchr("0123456789+-.eE", *p)) return NAN;
    memcpy(copy, start, n);
    copy[n] = '\0';
    char *stop;
    double value = strtod(copy, &stop);
    return (stop == copy + n && isfinite(value)) ? value : NAN;
}

/* [-+]digits[.digits]: mantissa and divisor are exact doubles (< 2^53, <= 1e22), so one
 * division rounds correctly and gives what float() gives. Anything else goes to strtod. */
static double number(const char *start, const char *end) {
    const char *p = start;
    int negative = 0;
    if (p < end && (*p == '-' || *p == '+')) negative = (*p++ == '-');
    uint64_t mantissa = 0;
    int digits = 0, decimals = -1;
    for (; p < end; ++p) {
        if (*p >= '0' && *p <= '9') {
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
            ++digits;
            if (decimals >= 0) ++decimals;
        } else if (*p == '.' && decimals < 0) {
            decimals = 0;
        } else {
            return slow_number(start, end);
        }
    }
    if (digits == 0) return NAN;
    if (digits > 15 || decimals > 22) return slow_number(start, end);
    double value = (double)mantissa / POW10[decimals > 0 ? decimals : 0];
    return negative ? -value : value;
}

/* Fills, for each of the file's lines, tokens[line] (4 stands for 4 or more) and
 * values[3 * line + 0..2] (NaN where the line has fewer tokens). Returns the number of lines,
 * or -1 if there are more than max_lines. */
long skeleton_lines(const char *text, long length, long max_lines, int32_t *tokens,
                    double *values) {
    const char *p = text, *end = text + length;
    long line = 0;
    while (p < end) {
        if (line >= max_lines) return -1;
        int32_t count = 0;
        double *row = values + 3 * line;
        row[0] = row[1] = row[2] = NAN;
        while (p < end && *p != '\n') {
            while (p < end && is_space(*p)) ++p;
            if (p == end || *p == '\n') break;
            const char *start = p;
            while (p < end && *p != '\n' && !is_space(*p)) ++p;
            if (count < 3) row[count] = number(start, p);
            if (++count == 4) {   /* the rest of the line is not needed: jump to its end */
                const char *newline = memchr(p, '\n', (size_t)(end - p));
                p = newline ? newline : end;
            }
        }
        tokens[line++] = count;
        if (p < end) ++p;   /* the '\n' */
    }
    return line;
}
