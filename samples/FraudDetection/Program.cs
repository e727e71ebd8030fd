// "state-manifest" prints the job's state schema (docs/state-schema-evolution.md): redirect it to
// fraud-detection.weirstate.json to accept a change of the state's schema as the new baseline.
if (args is ["state-manifest"])
{
    System.Console.Write(FraudDetection.FraudDetectionJob.StateManifestJson);
    return 0;
}

return FraudDetection.FraudDetectionJob.Run(args);
