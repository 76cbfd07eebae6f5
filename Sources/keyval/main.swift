// The `keyval` command is defined in KeyValCLI, where its tests can reach it.
import KeyValCLI

await KeyvalCommand.runAsMain()
