# home-manager: one user-mode plan, `%r` mount point, links in ~/.config, no early phase.
let
  plan = import ../../../modules/lib/plan.nix;
in
{
  userMode = true;
  secretsMountPoint = "%r/secrets.d";
  symlinkPath = "/home/alice/.config/sops-nix/secrets";
  cfg = {
    defaultSopsFile = "/nix/store/00000000000000000000000000000000-secrets.yaml";
    age.keyFile = "/home/alice/.age-key.txt";
    secrets = {
      test_key = { };
      runtime = {
        path = "%r/test.txt";
        restartUnits = [ "app.service" ];
      };
    };
    templates."template.toml" = {
      content = "password = \"${plan.placeholderFor "test_key"}\";\n";
      path = "/home/alice/.config/sops-nix/secrets/rendered/template.toml";
    };
  };
}
