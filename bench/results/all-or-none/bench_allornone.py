"""omnisync bench with an experimental own-test rule registered: the whole edit where the own
test finds no harm in it, none of it where it does (experiment only)."""
import sys
from omnisync_cli.cli import app  # noqa: F401  (import order)
import omnisync_cli.guidance.dscfg  # noqa: F401
from omnisync_cli.bench import variants as V
from omnisync_cli.model.editor import SamplerConfig
from omnisync_cli.pipeline import dub as D, options as O
from omnisync_cli.pipeline.self_test import gain_db, trusted_scale

O.SHARE_RULES = O.SHARE_RULES + ("all-or-none",)
plain = D.trusted_share


def trusted_share(video, trust, lent, share_rule="no-harm"):
    if share_rule != "all-or-none" or trust is None:
        return plain(video, trust, lent, share_rule)
    scale = 1.0 if trusted_scale(trust) >= 1.0 else 0.0
    return scale, (D.untrusted_warning(video, gain_db(trust), scale, lent) if scale < 1.0 else None)


D.trusted_share = trusted_share
V.VARIANTS["all-or-none"] = V.Variant("all-or-none", "the defaults showing the whole edit where the own test finds "
                                      "it harmless and none of it where not", SamplerConfig(), share_rule="all-or-none")
app(sys.argv[1:])
