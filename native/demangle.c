/* C++ and Rust symbol demangling through libiberty. Its header is included
 * from C only: in C++ its basename() declaration clashes with glibc's. */
#include <stdlib.h>
#include <libiberty/demangle.h>

#include "demangle.h"

char* tsprof_demangle(const char* mangled) {
  /* cplus_demangle with DMGL_AUTO recognises Itanium C++ and both Rust
   * manglings (legacy rides on Itanium; v0 starts with _R). */
  return cplus_demangle(mangled, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
