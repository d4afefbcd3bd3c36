# The smallest useful configuration: one secret, an age key file, everything else default.
{
  cfg = {
    defaultSopsFile = "/nix/store/00000000000000000000000000000000-secrets.yaml";
    age.keyFile = "/var/lib/sops-nix/key.txt";
    secrets.example-key = { };
  };
}
