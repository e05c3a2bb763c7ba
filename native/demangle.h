/* Symbol demangling.
 *
 * JavaScript signature (exported by addon.cc):
 *   demangle(names: string[]): (string | null)[]
 *       The demangled form of each name, or null where it is not mangled
 *       (or not a mangling libiberty knows). */
#ifndef TSPROF_DEMANGLE_H
#define TSPROF_DEMANGLE_H
#ifdef __cplusplus
extern "C" {
#endif
/** A malloc'd demangled string, or NULL. */
char* tsprof_demangle(const char* mangled);
#ifdef __cplusplus
}
#endif
#endif
