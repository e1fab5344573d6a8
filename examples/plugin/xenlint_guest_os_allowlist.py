"""A project rule: GUEST_OS must be one of the names the project allows."""

from collections.abc import Iterator

from xenlint.api import Context, Option, Result, Rule, Severity, hookimpl


class GuestOsAllowed(Rule):
    code = "XA101"  # third-party codes use their own prefix, never XL
    name = "guest-os-allowed"
    severity = Severity.ERROR
    summary = "GUEST_OS is not one of the project's allowed names"
    explanation = "Our boot tooling picks the image by GUEST_OS; other names are not booted."
    fix = "set GUEST_OS to an allowed name, or add the name to [tool.xenlint.plugins.allowlist]"

    def check(self, ctx: Context) -> Iterator[Result]:
        allowed = ctx.options["guest-os"]
        for cell in ctx.xen_cells:  # each (Xen release, mode) being judged
            value = ctx.xen(cell).strings.get("GUEST_OS")
            if value is not None and value not in allowed:
                yield Result((cell,), f"GUEST_OS {value!r} is not in {allowed}")


@hookimpl
def xenlint_rules() -> list[Rule]:
    return [GuestOsAllowed()]


@hookimpl
def xenlint_options() -> list[Option]:
    return [Option("guest-os", "list[str]", ["linux"], "the GUEST_OS values allowed")]
