# keyward: no plaintext reaches the Nix store. The poison is a secret's value, read at run
# time from the installed file (so the test script holds no plaintext either), then searched
# for in the whole system closure. Positive control: the same search finds a string that is
# known to be in the closure (the template's placeholder), so an empty result means something.
{ pkgs, self, ... }:
let
  common = import ../common.nix { inherit self; };
in
pkgs.testers.runNixOSTest {
  name = "keyward-poison-plaintext";
  nodes.machine =
    { config, ... }:
    {
      imports = [ common.base ];
      sops.secrets."grafana/smtp/password" = { };
      sops.templates."smtp.env".content = "PASSWORD=${config.sops.placeholder."grafana/smtp/password"}\n";
      environment.etc."placeholder-control".text = config.sops.placeholder."grafana/smtp/password";
    };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    closure = "$(nix-store -qR /run/current-system)"
    # Positive control: the placeholder is in the closure and the search finds it.
    machine.succeed(f"grep -rlF -f /etc/placeholder-control {closure} | grep -q .")
    # The poison: the installed value (and the rendered file's) is nowhere in the closure.
    machine.succeed("test -s /run/secrets/grafana/smtp/password")
    machine.fail(f"grep -rlF -f /run/secrets/grafana/smtp/password {closure}")
    machine.succeed("grep -qF -f /run/secrets/grafana/smtp/password /run/secrets/rendered/smtp.env")
  '';
}
