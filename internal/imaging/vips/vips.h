/* C helpers for the Go binding in binding.go: one function per operation,
 * each returning 0 on success and non-zero with the reason in libvips'
 * error buffer. Images handed back are owned by the caller (g_object_unref
 * through tk_unref). */
#include <stdlib.h>
#include <vips/vips.h>

/* Formats, matching the table in binding.go. */
enum {
	TK_JPEG = 1,
	TK_PNG,
	TK_WEBP,
	TK_GIF,
	TK_HEIF,
	TK_AVIF,
	TK_TIFF
};

int tk_init(void);
const char *tk_version(void);
int tk_blocked(const char *operation);
int tk_generic_load(const char *path);

void tk_unref(VipsImage *in);
int tk_load(const char *path, int format, int shrink, double scale, VipsImage **out);
void tk_header(VipsImage *in, int *width, int *height, int *pages, int *orientation);
int tk_thumbnail(VipsImage *in, VipsImage **out, int width, int height, int force);
int tk_srgb_memory(VipsImage *in, VipsImage **out, int rotate);
int tk_save(VipsImage *in, const char *path, int format, int quality);
int tk_greys(VipsImage *in, int max, void **small, void **grey, int *w, int *h);
int tk_width(VipsImage *in);
int tk_height(VipsImage *in);
void tk_free(void *buf);
void tk_alloc(size_t n);
void tk_crash(void);
