/*
 * smtp_data - the DATA state machine.  See smtp_data.h.
 *
 * States, after the 354 reply the client is at the start of a line:
 *   BOL      start of a line (after a real CRLF)
 *   TEXT     inside a line
 *   CR       a CR inside a line, waiting to see whether LF follows
 *   DOT      a '.' at the start of a line
 *   DOT_CR   ".<CR>" at the start of a line: LF next means the end
 *   NBOL     normalising: the start of a line after a bare CR or LF
 *   NDOT     normalising: a '.' at the start of such a line
 *
 * A client with LF-only line ends (the reason to normalise) still
 * dot-stuffs its lines, so after a bare line end a leading dot is
 * removed as after CRLF - but "." alone there is a line of text, never
 * the end: only CRLF "." CRLF ends a message.
 */
#include "smtp_data.h"

enum { ST_BOL, ST_TEXT, ST_CR, ST_DOT, ST_DOT_CR, ST_NBOL, ST_NDOT };

void
smtp_data_init(struct smtp_data *d, unsigned long long max_size,
	       bool normalise)
{
	d->state = ST_BOL;
	d->normalise = normalise;
	d->max_size = max_size;
	d->size = 0;
	d->line_len = 0;
	d->bare = d->too_big = d->long_line = d->done = false;
	d->line_max = 0;
	d->over_line_max = false;
}

/* put - message bytes: counted always, kept while within max_size. */
static void
put(struct smtp_data *d, const char *p, size_t n, struct buf *out)
{
	d->size += n;
	if (d->size > d->max_size) {
		d->too_big = true;
		return;
	}
	buf_append(out, p, n);
}

/* text - one byte of line content. */
static void
text(struct smtp_data *d, char c, struct buf *out)
{
	if (++d->line_len > SMTP_TEXT_LINE_MAX - 2)
		d->long_line = true;
	if (d->line_max != 0 && d->line_len > d->line_max)
		d->over_line_max = true;
	put(d, &c, 1, out);
}

/* end_line - a real CRLF. */
static void
end_line(struct smtp_data *d, struct buf *out)
{
	put(d, "\r\n", 2, out);
	d->line_len = 0;
	d->state = ST_BOL;
}

/* bare_end - a bare CR or LF: never a line end for the protocol (no
 * dot after it ends anything), CRLF in the message when normalising
 * (and then a line starts, whose stuffing dot is removed). */
static void
bare_end(struct smtp_data *d, struct buf *out)
{
	d->bare = true;
	if (d->normalise) {
		put(d, "\r\n", 2, out);
		d->line_len = 0;
		d->state = ST_NBOL;
		return;
	}
	d->state = ST_TEXT;
}

size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
	       struct buf *out)
{
	size_t i;

	for (i = 0; i < len && !d->done; i++) {
		char c = in[i];

		switch (d->state) {
		case ST_NDOT:
			if (c == '\r' || c == '\n')
				text(d, '.', out);	/* "." as text */
			d->state = ST_TEXT;
			i--;				/* c again, in TEXT */
			break;
		case ST_NBOL:
			if (c == '.') {
				d->state = ST_NDOT;
				break;
			}
			d->state = ST_TEXT;
			i--;
			break;
		case ST_BOL:
			if (c == '.') {
				d->state = ST_DOT;
				break;
			}
			/* FALLTHROUGH */
		case ST_TEXT:
			if (c == '\r')
				d->state = ST_CR;
			else if (c == '\n')
				bare_end(d, out);
			else {
				text(d, c, out);
				d->state = ST_TEXT;
			}
			break;
		case ST_CR:
			if (c == '\n') {
				end_line(d, out);
			} else {
				bare_end(d, out);	/* the CR was bare */
				i--;			/* c again, in TEXT */
			}
			break;
		case ST_DOT:
			/* RFC 5321 §4.5.2: the first dot of a line is
			 * removed; ".<CR><LF>" alone ends the message. */
			if (c == '\r') {
				d->state = ST_DOT_CR;
			} else if (c == '\n') {
				/* ".<LF>": a bare LF, not an end. */
				bare_end(d, out);
			} else {
				text(d, c, out);
				d->state = ST_TEXT;
			}
			break;
		case ST_DOT_CR:
			if (c == '\n') {
				d->done = true;
			} else {
				/* ".<CR>x": the CR was bare. */
				bare_end(d, out);
				i--;
			}
			break;
		}
	}
	return i;
}

void
smtp_data_encode(const char *msg, size_t len, bool *bol_r, bool *cr_r,
		 struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = msg[i];

		if (*cr_r) {
			/* The CR before this byte is already out. */
			*cr_r = false;
			buf_append_c(out, '\n');
			*bol_r = true;
			if (c == '\n')
				continue;	/* that was a real CRLF */
		}
		if (c == '\r') {
			buf_append_c(out, '\r');
			*cr_r = true;
			continue;
		}
		if (c == '\n') {		/* bare LF */
			buf_append(out, "\r\n", 2);
			*bol_r = true;
			continue;
		}
		if (*bol_r && c == '.')
			buf_append_c(out, '.');
		buf_append_c(out, c);
		*bol_r = false;
	}
}

void
smtp_data_encode_end(bool bol, bool cr, struct buf *out)
{
	if (cr)
		buf_append_c(out, '\n');	/* a final bare CR: end it */
	else if (!bol)
		buf_append(out, "\r\n", 2);
	buf_append(out, ".\r\n", 3);
}
