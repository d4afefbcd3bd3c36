# One of each mistake the modules refuse, with the message each gives.
{
  cfg = {
    defaultSopsFile = "/nix/store/00000000000000000000000000000000-secrets.yaml";
    age.keyFile = "/nix/store/00000000000000000000000000000000-key.txt";
    gnupg.home = "/var/lib/sops";
    gnupg.sshKeyPaths = [ "/etc/ssh/my_rsa_key" ];
    secrets = {
      # restartUnits without a unit suffix (sops-nix #343: silently never restarted)
      db.restartUnits = [ "postgresql" ];
      # owner and uid both
      both = {
        owner = "alice";
        uid = 5;
      };
      # for-users secret owned by a user with no fixed uid
      bob-hash = {
        neededForUsers = true;
        owner = "bob";
      };
      # two secrets on one path
      one.path = "/etc/shared";
      two.path = "/etc/shared";
    };
    templates = {
      # no placeholder at all
      "plain.conf".content = "nothing secret here\n";
      # the placeholder of a for-users secret stays literal
      "hash.conf".content = "hash=<SOPS:${builtins.hashString "sha256" "bob-hash"}:PLACEHOLDER>\n";
    };
  };
  users = {
    alice = {
      uid = 1000;
      group = "users";
    };
    bob = {
      uid = null;
      group = "users";
    };
  };
  groups.users.gid = 100;
}
