# The example host's users and groups with fixed ids: nixpkgs' own (postgres, grafana) and alice.
# ./default.nix declares alice from here; the demo plan uses the table for owners' groups.
{
  users = {
    postgres = {
      uid = 71;
      group = "postgres";
    };
    grafana = {
      uid = 196;
      group = "grafana";
    };
    alice = {
      uid = 1000;
      group = "users";
    };
  };
  groups = {
    postgres.gid = 71;
    grafana.gid = 196;
    users.gid = 100;
  };
}
