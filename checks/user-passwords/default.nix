{ pkgs, self, ... }: import ../user-passwords.nix { inherit pkgs self; name = "user-passwords"; }
