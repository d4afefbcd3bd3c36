# Every option that reaches the plan, with non-default values, and the for-users split with
# numeric ids taken from users.users / users.groups.
let
  plan = import ../../../modules/lib/plan.nix;
  ph = plan.placeholderFor;
in
{
  cfg = {
    defaultSopsFile = "/nix/store/00000000000000000000000000000000-secrets.yaml";
    defaultSopsFormat = "yaml";
    defaultSopsKey = null;
    validateSopsFiles = false;
    keepGenerations = 3;
    useTmpfs = true;
    log = [ "secretChanges" ];
    age = {
      keyFile = "/var/lib/sops-nix/key.txt";
      sshKeyPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
    };
    secrets = {
      "myservice/db" = {
        owner = "nginx";
        restartUnits = [ "nginx.service" ];
        reloadUnits = [ "php-fpm.socket" ];
      };
      whole-file = {
        key = "";
        format = "binary";
        sopsFile = "/nix/store/11111111111111111111111111111111-blob.bin";
        mode = "0440";
        uid = 1001;
        gid = 1002;
      };
      app-env = {
        format = "dotenv";
        sopsFile = "/nix/store/22222222222222222222222222222222-app.env";
        key = "";
        path = "/etc/app/app.env";
        group = "wheel";
      };
      renamed = {
        name = "other-name";
        key = "grafana/admin-password";
      };
      alice-hash = {
        neededForUsers = true;
        owner = "alice";
      };
      root-hash.neededForUsers = true;
      shared-group-hash = {
        neededForUsers = true;
        group = "shadowers";
      };
    };
    templates = {
      "nginx.conf" = {
        content = "password ${ph "myservice/db"};\n";
        owner = "nginx";
        restartUnits = [ "nginx.service" ];
      };
      "linked.env" = {
        content = "TOKEN=${ph "renamed"}\n";
        path = "/etc/linked.env";
        mode = "0444";
        uid = 420;
        gid = 420;
      };
    };
    failurePolicy = "partial";
    pathDirectories = {
      owner = "nginx";
      group = "nginx";
      mode = "0750";
    };
    metrics = {
      directory = "/var/lib/prometheus-node-exporter/textfile";
      secretNames = true;
    };
    audit.enable = false;
    lockTimeoutSeconds = 5;
  };
  users = {
    nginx = {
      uid = 60;
      group = "nginx";
    };
    alice = {
      uid = 1000;
      group = "users";
    };
  };
  groups = {
    nginx.gid = 60;
    users.gid = 100;
    shadowers.gid = 990;
  };
}
