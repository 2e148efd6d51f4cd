/* fuzz_util: what the libFuzzer harnesses of tests/fuzz share.
 *
 * libFuzzer hands a harness bytes; gcsim's loaders take paths. Each harness process gets one
 * private temporary folder (under $TMPDIR or /tmp, removed at exit) where an input is written
 * as a file, loaded and removed again. An input that stands for several files (a config.json
 * and its model.safetensors, encoder.json and vocab.bpe, two CSV tables) is cut at each line
 * holding only "--8<--" (FUZZ_SEP), so a seed stays a readable file.
 *
 * Forked children (the HDF5 reader process of common/h5_file.c) run without libFuzzer's crash
 * handlers: a crash there is contained by the loader (one error line), not a crash of the
 * harness; fuzz_note_h5 counts them.
 *
 * A property violation (a loader that succeeds with a non-finite value, a tokenizer whose
 * decode(encode(x)) is not x) is reported on stderr and aborts, which libFuzzer counts as a
 * crash and saves the input. Not here: the harnesses' properties themselves. */
#ifndef GCSIM_FUZZ_UTIL_H
#define GCSIM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_SEP "\n--8<--\n"

/* The process's temporary folder (created on first use; exits if it cannot be made). */
const char *fuzz_dir(void);

/* Writes n bytes to fuzz_dir()/name (name may hold one folder, created as needed) and puts
 * the full path into path (cap bytes). Exits if the file cannot be written: that is the
 * machine, not the input. */
void fuzz_write(const char *name, const void *data, size_t n, char *path, size_t cap);

/* Removes fuzz_dir()/name if it exists (a file or an empty folder). */
void fuzz_remove(const char *name);

/* Cuts data at FUZZ_SEP into at most max parts; returns how many (>= 1). The last part takes
 * the rest, separators included. */
int fuzz_split(const uint8_t *data, size_t n, int max, const uint8_t **part, size_t *len);

/* With GCSIM_FUZZ_VERBOSE set, prints what a loader said about one input ("loaded" when rc is
 * 0, else msg): to see that seeds load and why mutants fail. Silent otherwise. */
void fuzz_note(const char *what, int rc, const char *msg);

/* fuzz_note for a loader of the HDF5 file path; also counts the inputs that crashed or hung
 * common/h5_file.c's HDF5 reader process (its message says so) and prints the count at exit:
 * libhdf5 defects the loader contained. */
void fuzz_note_h5(const char *what, const char *path, int rc, const char *msg);

/* Reads every one of the n bytes at p, so that AddressSanitizer checks they belong to one live
 * allocation. */
void fuzz_touch(const void *p, size_t n);

/* Reports "property violated: ..." and aborts. */
void fuzz_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define FUZZ_CHECK(cond, ...)                                                                \
    do {                                                                                     \
        if (!(cond))                                                                         \
            fuzz_violation(__VA_ARGS__);                                                     \
    } while (0)

/* 1 if the n bytes are valid UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF), else 0. Written here, independently of the tokenizer's own check. */
int fuzz_utf8_valid(const uint8_t *s, size_t n);

#endif
