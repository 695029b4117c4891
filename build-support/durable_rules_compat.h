/* qa_engine: lets durable-rules 2.0.28 (sdist only, 2020) build and import on CPython 3.13.
 *
 * durable_rules' src/rulespy/rules.c calls PyEval_CallObject, which Python 3.13 removed from its
 * headers; PyObject_CallObject(callable, args) is its documented replacement, with the same
 * arguments (the upstream fix, jruizgit/rules PR #403, does the same but was never released).
 * The install force-includes this file into every C file pip compiles for durable-rules
 * (CPPFLAGS="-include .../durable_rules_compat.h"; see the README). It changes nothing on Python
 * 3.10-3.12, and nothing in a C file built without the Python headers on its include path.
 */
#ifndef QA_ENGINE_DURABLE_RULES_COMPAT_H
#define QA_ENGINE_DURABLE_RULES_COMPAT_H
#if defined(__has_include)
#if __has_include(<patchlevel.h>)
#include <patchlevel.h>
#if PY_VERSION_HEX >= 0x030D0000 && !defined(PyEval_CallObject)
#define PyEval_CallObject(callable, args) PyObject_CallObject((callable), (args))
#endif
#endif
#endif
#endif
