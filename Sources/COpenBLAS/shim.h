#include <cblas.h>

/* OpenBLAS (pthreads build): joins the worker threads it started when the
 * library was loaded. Exported by libopenblas, not declared in cblas.h. A
 * later call that wants more than one thread starts them again. */
int blas_thread_shutdown_(void);
