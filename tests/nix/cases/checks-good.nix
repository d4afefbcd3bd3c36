# A configuration that passes every check: the RSA GnuPG default derived from openssh is
# dropped silently, for-users owners with fixed uids resolve, units have suffixes.
let
  plan = import ../../../modules/lib/plan.nix;
in
{
  cfg = {
    defaultSopsFile = "/nix/store/00000000000000000000000000000000-secrets.yaml";
    age.sshKeyPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
    gnupg = {
      home = null;
      sshKeyPaths = [ "/etc/ssh/ssh_host_rsa_key" ];
    };
    secrets = {
      db.restartUnits = [ "postgresql.service" "nginx@site.service" ];
      alice-hash = {
        neededForUsers = true;
        owner = "alice";
      };
    };
    templates."ok.conf".content = "pw=${plan.placeholderFor "db"}\n";
  };
  derivedGnupgSshKeyPaths = [ "/etc/ssh/ssh_host_rsa_key" ];
  users.alice = {
    uid = 1000;
    group = "users";
  };
  groups.users.gid = 100;
}
