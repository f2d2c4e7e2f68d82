#include <string.h>

#include "vips.h"

/* The loaders Tuku uses. Everything else under VipsForeignLoad (magick,
 * pdf, svg, mat, fits, openslide, csv, vips, …) stays blocked, so neither a
 * mislabelled file nor a libvips call that dispatches on content can reach
 * them. */
static const char *allowed_loaders[] = {
	"VipsForeignLoadJpeg",
	"VipsForeignLoadPng",  /* libpng build; spng builds name their class the same */
	"VipsForeignLoadWebp",
	"VipsForeignLoadNsgif",
	"VipsForeignLoadHeif",
	"VipsForeignLoadTiff",
	NULL
};

int
tk_init(void)
{
	if (VIPS_INIT("tuku-imaging-worker"))
		return -1;
	/* One request at a time per process; the pool runs one process per
	 * core, so more threads here only add contention. */
	vips_concurrency_set(1);
	/* Nothing is ever reused between requests: caching would only keep
	 * decoded pixels of an earlier file alive. */
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (int i = 0; allowed_loaders[i]; i++)
		vips_operation_block_set(allowed_loaders[i], FALSE);
	return 0;
}

const char *
tk_version(void)
{
	return vips_version_string();
}

/* tk_blocked reports whether an operation (by nickname) is blocked. */
int
tk_blocked(const char *operation)
{
	GType type = vips_type_find("VipsOperation", operation);
	if (!type)
		return 1;
	VipsOperationClass *class = VIPS_OPERATION_CLASS(g_type_class_ref(type));
	int blocked = (class->flags & VIPS_OPERATION_BLOCKED) != 0;
	g_type_class_unref(class);
	return blocked;
}

/* tk_generic_load tries libvips' content-dispatching loader. Tuku never
 * uses it; tests call it to prove the block list leaves nothing but the
 * allowed loaders reachable. */
int
tk_generic_load(const char *path)
{
	VipsImage *x = vips_image_new_from_file(path, NULL);
	if (!x)
		return -1;
	g_object_unref(x);
	return 0;
}

void
tk_unref(VipsImage *in)
{
	VIPS_UNREF(in);
}

/* tk_load opens path with the loader of the sniffed format (never with the
 * generic, content-dispatching vips_image_new_from_file) and reads the
 * header only: pixels are decoded later, on demand. Only the first frame
 * or page is loaded. shrink (JPEG) and scale (WebP) ask the codec to decode
 * at reduced size. Truncated data is an error, not a grey band. */
int
tk_load(const char *path, int format, int shrink, double scale, VipsImage **out)
{
	const VipsFailOn fail = VIPS_FAIL_ON_TRUNCATED;
	const VipsAccess access = VIPS_ACCESS_SEQUENTIAL;

	switch (format) {
	case TK_JPEG:
		return vips_jpegload(path, out, "shrink", shrink > 1 ? shrink : 1,
			"access", access, "fail_on", fail, NULL);
	case TK_PNG:
		/* unlimited stays FALSE: libpng's caps on text chunks defuse
		 * zTXt bombs. */
		return vips_pngload(path, out, "access", access, "fail_on", fail, NULL);
	case TK_WEBP:
		return vips_webpload(path, out, "n", 1, "page", 0,
			"scale", scale > 0 && scale < 1 ? scale : 1.0,
			"access", access, "fail_on", fail, NULL);
	case TK_GIF:
		return vips_gifload(path, out, "n", 1, "page", 0,
			"access", access, "fail_on", fail, NULL);
	case TK_HEIF:
	case TK_AVIF:
		/* libheif applies the mandatory irot/imir transforms itself.
		 * No page: the default is the primary image, which need not be
		 * the first. */
		return vips_heifload(path, out, "thumbnail", FALSE,
			"access", access, "fail_on", fail, NULL);
	case TK_TIFF:
		return vips_tiffload(path, out, "n", 1, "page", 0,
			"access", access, "fail_on", fail, NULL);
	}
	vips_error("tuku", "unknown format %d", format);
	return -1;
}

void
tk_header(VipsImage *in, int *width, int *height, int *pages, int *orientation)
{
	*width = vips_image_get_width(in);
	*height = vips_image_get_height(in);
	*pages = 1;
	if (vips_image_get_typeof(in, VIPS_META_N_PAGES) == G_TYPE_INT &&
		vips_image_get_int(in, VIPS_META_N_PAGES, pages))
		*pages = 1;
	*orientation = 1;
	if (vips_image_get_typeof(in, VIPS_META_ORIENTATION) == G_TYPE_INT &&
		vips_image_get_int(in, VIPS_META_ORIENTATION, orientation))
		*orientation = 1;
	vips_error_clear();
}

/* tk_thumbnail fits in inside width x height (never enlarging), or, with
 * force, resizes to exactly width x height. Orientation is handled by the
 * caller (tk_srgb_memory), so it never happens twice. */
int
tk_thumbnail(VipsImage *in, VipsImage **out, int width, int height, int force)
{
	return vips_thumbnail_image(in, out, width, "height", height,
		"size", force ? VIPS_SIZE_FORCE : VIPS_SIZE_DOWN,
		"no_rotate", TRUE, NULL);
}

/* strip_all removes every metadata item (EXIF, XMP, IPTC, ICC, comments,
 * orientation, …) from x. Savers' strip option alone is not enough:
 * libvips 8.14.1's webpsave writes EXIF, XMP and ICC chunks despite it. */
static void
strip_all(VipsImage *x)
{
	gchar **fields = vips_image_get_fields(x);
	for (int i = 0; fields[i]; i++)
		vips_image_remove(x, fields[i]); /* built-in fields are not removable: no-op */
	g_strfreev(fields);
}

/* tk_srgb_memory converts in to 8-bit sRGB, decodes it into memory (this
 * is where a corrupt file fails) and, when rotate is set, turns it upright
 * from its EXIF orientation. The result carries no metadata at all (no
 * ICC profile, no orientation), so later steps neither re-convert nor
 * re-rotate, and no encoder can copy EXIF, XMP or a comment out. */
int
tk_srgb_memory(VipsImage *in, VipsImage **out, int rotate)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 5);
	VipsImage *x = in;

	if (x->Type != VIPS_INTERPRETATION_sRGB || x->BandFmt != VIPS_FORMAT_UCHAR) {
		if (vips_colourspace(x, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
			goto fail;
		x = t[0];
		if (x->BandFmt != VIPS_FORMAT_UCHAR) {
			if (vips_cast(x, &t[1], VIPS_FORMAT_UCHAR, NULL))
				goto fail;
			x = t[1];
		}
	}
	if (!(t[2] = vips_image_copy_memory(x)))
		goto fail;
	x = t[2];
	if (rotate) {
		if (vips_autorot(x, &t[3], NULL))
			goto fail;
		x = t[3];
	}
	if (vips_copy(x, &t[4], NULL))
		goto fail;
	strip_all(t[4]);
	*out = t[4];
	g_object_ref(*out);
	g_object_unref(base);
	return 0;
fail:
	g_object_unref(base);
	return -1;
}

/* tk_save encodes in (8-bit sRGB) to path with every piece of metadata
 * stripped: no EXIF, XMP, IPTC, ICC or comments reach a rendition. */
int
tk_save(VipsImage *in, const char *path, int format, int quality)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 1);
	int q = quality > 0 && quality <= 100 ? quality : 0;
	int res = -1;

	switch (format) {
	case TK_JPEG: {
		VipsImage *x = in;
		if (vips_image_hasalpha(in)) {
			VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
			res = vips_flatten(in, &t[0], "background", white, NULL);
			vips_area_unref(VIPS_AREA(white));
			if (res)
				break;
			x = t[0];
		}
		/* optimize_coding and interlace cost time at ingest for a few
		 * percent of bytes. */
		res = vips_jpegsave(x, path, "Q", q ? q : 80, "strip", TRUE,
			"optimize_coding", FALSE, "interlace", FALSE, NULL);
		break;
	}
	case TK_PNG:
		res = vips_pngsave(in, path, "strip", TRUE, "compression", 6, NULL);
		break;
	case TK_WEBP:
		res = vips_webpsave(in, path, "Q", q ? q : 80, "strip", TRUE, NULL);
		break;
	case TK_AVIF:
		res = vips_heifsave(in, path, "Q", q ? q : 50, "strip", TRUE,
			"compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL);
		break;
	default:
		vips_error("tuku", "cannot save format %d", format);
	}
	g_object_unref(base);
	return res;
}

/* tk_greys makes one 8-bit grey version of in (alpha flattened onto
 * white) fitted inside max x max, and from it a 32x32 one (aspect
 * ignored). Both buffers are g_malloc'd: free them with tk_free. */
int
tk_greys(VipsImage *in, int max, void **small, void **grey, int *w, int *h)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 7);
	VipsImage *x = in;
	size_t len;

	*small = *grey = NULL;
	if (vips_image_hasalpha(x)) {
		VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
		int r = vips_flatten(x, &t[0], "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (r)
			goto fail;
		x = t[0];
	}
	if (vips_colourspace(x, &t[1], VIPS_INTERPRETATION_B_W, NULL) ||
		vips_extract_band(t[1], &t[2], 0, "n", 1, NULL) ||
		vips_cast(t[2], &t[3], VIPS_FORMAT_UCHAR, NULL) ||
		vips_thumbnail_image(t[3], &t[4], max, "height", max,
			"size", VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL) ||
		!(t[5] = vips_image_copy_memory(t[4])) ||
		vips_thumbnail_image(t[5], &t[6], 32, "height", 32,
			"size", VIPS_SIZE_FORCE, "no_rotate", TRUE, NULL))
		goto fail;
	if (t[6]->Xsize != 32 || t[6]->Ysize != 32 || t[6]->Bands != 1 ||
		t[6]->BandFmt != VIPS_FORMAT_UCHAR || t[5]->Bands != 1) {
		vips_error("tuku", "unexpected grey image shape");
		goto fail;
	}
	*w = t[5]->Xsize;
	*h = t[5]->Ysize;
	if (!(*grey = vips_image_write_to_memory(t[5], &len)) ||
		!(*small = vips_image_write_to_memory(t[6], &len)))
		goto fail;
	g_object_unref(base);
	return 0;
fail:
	g_free(*grey);
	g_free(*small);
	*small = *grey = NULL;
	g_object_unref(base);
	return -1;
}

int
tk_width(VipsImage *in)
{
	return in->Xsize;
}

int
tk_height(VipsImage *in)
{
	return in->Ysize;
}

void
tk_free(void *buf)
{
	g_free(buf);
}

/* tk_alloc is reachable only through the worker's test requests: it
 * allocates like a decoder inflating a bomb. */
void
tk_alloc(size_t n)
{
	char *p = g_malloc(n);
	memset(p, 1, n);
	g_free(p);
}

/* tk_crash is reachable only through the worker's test requests; it lets
 * tests prove that a decoder crash fails one request, not the pool. */
void
tk_crash(void)
{
	abort();
}
