"""The Camunda 7 dialect on SpiffWorkflow: parsing and deploy checks, task specs, the sandbox
for scripts and expressions, timers, the stored state of a tree, and safe XML."""
