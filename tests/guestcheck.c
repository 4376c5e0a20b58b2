/* guestcheck: the guest view (xvafs/guest.h) of raw disk image files, for
 * the end-to-end tests that hold it against sfdisk, lvm2 and blkid.
 *   guestcheck list IMAGE...       one line per table, partition, device,
 *                                  VG, LV and note (key=value)
 *   guestcheck dump NAME IMAGE...  the bytes of device NAME ("xvda1",
 *                                  "xvdb") or LV NAME ("VG/LV") to stdout
 * The images are named xvda, xvdb, ... in order. Exit 1 on an error,
 * 2 when NAME is not served (the reason on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvafs/guest.h"
#include "xvafs/view.h"

static void print_fs(const struct xva_fsinfo *fs)
{
	printf(" TYPE=%s VERSION=\"%s\" LABEL=\"%s\" UUID=%s\n", fs->type,
	       fs->version, fs->label, fs->uuid);
}

static void list_tables(const struct xva_guest *g, const char *const *names)
{
	for (size_t d = 0; d < g->n_disks; d++) {
		const struct xva_ptable *t = g->tables[d];

		printf("table disk=%s kind=%s id=%s ssz=%u backup=%d "
		       "hybrid=%d\n", names[d], xva_ptable_kind_name(t->kind),
		       t->id, t->sector_size,
		       !!(t->flags & XVA_PT_BACKUP_USED),
		       !!(t->flags & XVA_PT_HYBRID));
		for (size_t i = 0; i < t->n; i++) {
			const struct xva_partition *p = &t->parts[i];
			char type[40];

			/* GPT: the type GUID; MBR: the byte in hex */
			snprintf(type, sizeof(type), "%s", p->type_guid);
			if (!type[0])
				snprintf(type, sizeof(type), "%x",
					 (unsigned)p->mbr_type);
			printf("part disk=%s n=%u start=%llu length=%llu "
			       "type=%s uuid=%s extended=%d clamped=%d "
			       "boot=%d name=\"%s\"\n", names[d], p->number,
			       (unsigned long long)p->start,
			       (unsigned long long)p->length, type, p->uuid,
			       !!(p->flags & XVA_PART_EXTENDED),
			       !!(p->flags & XVA_PART_CLAMPED),
			       !!(p->flags & XVA_PART_BOOTABLE), p->name);
		}
		for (size_t i = 0; i < t->n_notes; i++)
			printf("note %s: %s\n", names[d], t->notes[i]);
	}
}

static void list(const struct xva_guest *g, const char *const *names)
{
	list_tables(g, names);
	for (size_t i = 0; i < g->n_devs; i++) {
		printf("dev name=%s size=%llu", g->devs[i].name,
		       (unsigned long long)g->devs[i].view->size);
		print_fs(&g->devs[i].fs);
	}
	for (size_t v = 0; v < g->lvm->n_vgs; v++) {
		const struct xva_lvm_vg *vg = &g->lvm->vgs[v];

		printf("vg name=%s uuid=%s seqno=%llu extent=%llu partial=%d "
		       "shared=%d\n", vg->name, vg->uuid,
		       (unsigned long long)vg->seqno,
		       (unsigned long long)vg->extent_size, vg->partial,
		       vg->name_shared);
		for (size_t i = 0; i < vg->n_lvs; i++)
			if (!vg->lvs[i].servable)
				printf("refused vg=%s lv=%s visible=%d why=%s\n",
				       vg->name, vg->lvs[i].name,
				       vg->lvs[i].visible, vg->lvs[i].why);
	}
	for (size_t i = 0; i < g->n_lvs; i++) {
		const struct xva_lvm_lv *lv =
			&g->lvm->vgs[g->lvs[i].vg].lvs[g->lvs[i].lv];

		printf("lv path=%s size=%llu types=%s", g->lvs[i].path,
		       (unsigned long long)lv->size, lv->types);
		print_fs(&g->lvs[i].fs);
	}
	for (size_t i = 0; i < g->lvm->n_notes; i++)
		printf("note lvm: %s\n", g->lvm->notes[i]);
}

static int dump(struct xva_view *v)
{
	static char buf[1 << 20];
	struct xva_err err;
	size_t done;

	for (uint64_t off = 0; off < v->size; off += done) {
		if (xva_view_read(v, buf, sizeof(buf), off, 0, &done, &err) !=
			    XVA_OK ||
		    done == 0) {
			fprintf(stderr, "guestcheck: %s: %s\n", v->name,
				err.msg);
			return 1;
		}
		if (fwrite(buf, 1, done, stdout) != done)
			return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

/* Device or LV NAME of G to stdout. */
static int dump_named(const struct xva_guest *g, const char *name)
{
	struct xva_view *v;
	struct xva_err err;
	int rc;

	for (size_t i = 0; i < g->n_devs; i++)
		if (!strcmp(g->devs[i].name, name))
			return dump(g->devs[i].view);
	for (size_t i = 0; i < g->n_lvs; i++) {
		if (strcmp(g->lvs[i].path, name))
			continue;
		if (xva_guest_lv_view(g, i, false, &v, &err) != XVA_OK) {
			fprintf(stderr, "guestcheck: %s\n", err.msg);
			return 1;
		}
		rc = dump(v);
		xva_view_close(v);
		return rc;
	}
	for (size_t v2 = 0; v2 < g->lvm->n_vgs; v2++)
		for (size_t i = 0; i < g->lvm->vgs[v2].n_lvs; i++)
			if (!strcmp(g->lvm->vgs[v2].lvs[i].name,
				    strchr(name, '/') ? strchr(name, '/') + 1
						      : name) &&
			    g->lvm->vgs[v2].lvs[i].why)
				fprintf(stderr, "guestcheck: %s: %s\n", name,
					g->lvm->vgs[v2].lvs[i].why);
	fprintf(stderr, "guestcheck: %s: not served\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	bool is_dump = argc > 2 && !strcmp(argv[1], "dump");
	int first = is_dump ? 3 : 2, n = argc - first, rc = 0;
	struct xva_view **disks;
	char (*names)[8];
	const char **np;
	struct xva_guest *g = NULL;
	struct xva_err err;

	if (argc < 3 || (!is_dump && strcmp(argv[1], "list")) || n < 1 ||
	    n > 26) {
		fprintf(stderr, "usage: guestcheck list IMAGE...\n"
			"       guestcheck dump NAME IMAGE...\n");
		return 1;
	}
	disks = calloc((size_t)n, sizeof(*disks));
	names = calloc((size_t)n, sizeof(*names));
	np = calloc((size_t)n, sizeof(*np));
	if (!disks || !names || !np)
		return 1;
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "xvd%c", 'a' + i);
		np[i] = names[i];
		if (xva_view_file(argv[first + i], names[i], &disks[i],
				  &err) != XVA_OK) {
			fprintf(stderr, "guestcheck: %s\n", err.msg);
			return 1;
		}
	}
	if (xva_guest_scan(disks, np, (size_t)n, &g, &err) != XVA_OK) {
		fprintf(stderr, "guestcheck: %s\n", err.msg);
		return 1;
	}
	if (is_dump)
		rc = dump_named(g, argv[2]);
	else
		list(g, np);
	xva_guest_free(g);
	for (int i = 0; i < n; i++)
		xva_view_close(disks[i]);
	free(disks);
	free(names);
	free(np);
	return rc;
}
