/* test_kv_conform_embedded.c: the kvstore conformance suite (kv_conform.c)
 * run against the embedded backend, which proves the suite itself is
 * backend-independent. Each test gets a fresh mkdtemp directory, removed at
 * teardown. The embedded store has no server to stop, so the outage test
 * skips, and it flocks its directory, so the race runs on one client.
 */
#include "kv_conform.c"

#include <ftw.h>

struct emb_fix {
	char dir[64];
};

static int emb_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int emb_fix_setup(struct kv_fixture *f, struct kv_config *cfg)
{
	struct emb_fix *e = f->priv;

	snprintf(e->dir, sizeof(e->dir), "/tmp/ovn-kvc-XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	*cfg = (struct kv_config){
		.backend = "embedded",
		.path = e->dir,
		.prefix = "/ovn",
		.sync_interval = 1,
		.timeout = 1,
	};
	return 0;
}

static void emb_fix_teardown(struct kv_fixture *f)
{
	struct emb_fix *e = f->priv;

	nftw(e->dir, emb_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	struct emb_fix e;
	struct kv_fixture f = {
		.name = "embedded",
		.flags = KV_FIX_ONE_CLIENT,
		.setup = emb_fix_setup,
		.teardown = emb_fix_teardown,
		.priv = &e,
	};

	return kv_conform_run(&f);
}
