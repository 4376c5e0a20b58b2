#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "export/members.h"
#include "xvafs/number.h"

bool xva_name_is_reserved(const char *prefix)
{
	return strcmp(prefix, XVA_NAME_OVA_XML) == 0 ||
	       strcmp(prefix, XVA_NAME_BY_DEVICE) == 0 ||
	       strcmp(prefix, XVA_NAME_BY_LABEL) == 0 ||
	       strcmp(prefix, XVA_NAME_VM) == 0;
}

static bool name_is_safe(const char *name, const char **why)
{
	const char *p;

	if (name[0] == '/') {
		*why = "an absolute path";
		return false;
	}
	for (p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "a control character";
			return false;
		}
	}
	for (p = name; *p; ) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "a '..' component";
			return false;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/* Parses the decimal counter at the start of LEAF (any width, up to
 * 2^64-1); *REST is what follows it. */
static bool parse_number(const char *leaf, uint64_t *number, int *width,
			 const char **rest)
{
	const char *p;

	if (!xva_parse_digits(leaf, 10, number, &p) || p - leaf > 64)
		return false;
	*width = (int)(p - leaf);
	*rest = p;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum xva_status xva_member_classify(const char *name, bool is_dir,
				    uint64_t header_off,
				    struct xva_member_name *out,
				    struct xva_err *err)
{
	const char *why, *slash, *rest;
	size_t prefix_len;

	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (!name_is_safe(name, &why))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_NAME,
				    "member name at byte %llu has %s; refusing "
				    "it", (unsigned long long)header_off, why);
	out->kind = XVA_MEMBER_IGNORED;
	if (is_dir)
		return XVA_OK; /* some tar writers add folders */
	if (strcmp(name, XVA_NAME_OVA_XML) == 0) {
		out->kind = XVA_MEMBER_OVA_XML;
		return XVA_OK;
	}
	if (ends_with(name, ".ovf") || ends_with(name, ".mf"))
		return xva_fail(err, XVA_EUNSUPPORTED, "this is an OVF package "
				"(member %.200s), as VMware and VirtualBox "
				"export, not a XenServer/XCP-ng export (.xva); "
				"its disks are .vmdk or .vhd files inside the tar: "
				"extract them, or import the package with "
				"virt-v2v", name);
	slash = strchr(name, '/');
	prefix_len = slash ? (size_t)(slash - name) : 0;
	if (!slash || prefix_len == 0 || strchr(slash + 1, '/') ||
	    prefix_len >= sizeof(out->prefix) ||
	    !parse_number(slash + 1, &out->number, &out->width, &rest))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_NAME,
				    "member %.200s at byte %llu is not part of "
				    "an export (expected ova.xml, PREFIX/NUMBER "
				    "or PREFIX/NUMBER.xxhash|.checksum)", name,
				    (unsigned long long)header_off);
	memcpy(out->prefix, name, prefix_len);
	out->prefix[prefix_len] = '\0';
	if (strcmp(out->prefix, ".") == 0 || xva_name_is_reserved(out->prefix))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_NAME,
				    "member %s at byte %llu has %s", name,
				    (unsigned long long)header_off,
				    strcmp(out->prefix, ".") == 0
					    ? "no disk prefix"
					    : "a disk prefix the mount reserves "
					      "for itself");
	if (*rest == '\0')
		out->kind = XVA_MEMBER_CHUNK;
	else if (strcmp(rest, ".xxhash") == 0 || strcmp(rest, ".checksum") == 0) {
		out->kind = XVA_MEMBER_CHECKSUM;
		out->checksum = rest[1] == 'x' ? XVA_CHECKSUM_XXHASH
					       : XVA_CHECKSUM_SHA1;
	} else if (rest[0] == '.') {
		out->kind = XVA_MEMBER_STRAY; /* a checksum of a kind unknown */
	} else {
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_NAME,
				    "member %.200s at byte %llu is not part of "
				    "an export (expected ova.xml, PREFIX/NUMBER "
				    "or PREFIX/NUMBER.xxhash|.checksum)", name,
				    (unsigned long long)header_off);
	}
	return XVA_OK;
}
