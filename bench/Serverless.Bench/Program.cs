using Serverless.Bench;

// Subcommands of the harness; bench/run drives them. Each prints one JSON line (or Markdown) to stdout.
var command = args.Length > 0 ? args[0] : "help";
var options = CommandLine.Parse(args.Skip(1));
try
{
    return command switch
    {
        "upstream" => await MockUpstream.RunAsync(options),
        "otlpsink" => await OtlpSink.RunAsync(options),
        "tablesink" => await TableSink.RunAsync(options),
        "bodies" => RequestBodies.Write(options),
        "setup" => await RelaySetup.RunAsync(options),
        "check" => await TargetCheck.RunAsync(options),
        "streamclient" => await StreamClient.RunAsync(options),
        "coldstart" => await ColdStart.RunAsync(options),
        "largebodies" => await LargeBodies.RunAsync(options),
        "saturation" => await Saturation.RunAsync(options),
        "pool-setup" => await AccountPoolCase.SetupAsync(options),
        "pool-state" => await AccountPoolCase.StateAsync(options),
        "pool-remove" => await AccountPoolCase.RemoveAsync(options),
        "wiresplit" => WireSplit.Run(options),
        "report" => Report.Write(options),
        _ => Usage(),
    };
}
catch (CommandLineException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("""
        Serverless.Bench <command> [--name value ...]
          upstream      --port P [--ready-file F]                 the fast mock OpenAI upstream
          otlpsink      --port P [--ready-file F]                 an OTLP/HTTP receiver that drops what it gets (BENCH_TELEMETRY=on)
          tablesink     --port P --storage URL --absorb T1,T2 [--ready-file F]   forwards to Azurite's tables, but
                        counts and drops the batch upserts into T1,T2 (BENCH_STORAGE=sink)
          bodies        --dir D                                    write the request bodies wrk sends
          setup         --relay URL --admin-key K --upstream URL   create the account and a key; prints the key
          check         --url URL [--header 'k: v' ...] --stream   one call, fails unless it is a correct answer
          streamclient  --url URL [--header ...] --requests N --concurrency C [--model M] [--label L] [--merge-log FILE]
                        [--wire]  also count merged events on the wire (tcpdump on lo, segments from the URL's port)
          coldstart     --exe PATH --key K --runs N [--cpu C]      process start to first relayed 200, N times
          largebodies   --url URL [--header ...] --count N --mb M --rounds R   N bodies of M MB at once, R times
          saturation    --relay URL --key K --admin-key A [--bound B] [--extra N] [--concurrency C] [--model M]
                        hold a relay started with Relay__MaxConcurrentRequests=B at its bound with B paced streams,
                        send N more requests (C at a time); each should be shed with 503 + Retry-After
          pool-setup    --relay URL --admin-key K --upstream URL [--accounts N] [--cap C]
                        N accounts on the mock, C requests at once each, serving pool-model alone (several accounts)
          pool-state    --relay URL --admin-key K --upstream URL   what each of them served, and its health
          pool-remove   --relay URL --admin-key K                  deletes them
          wiresplit     --pcap F --port P --upstream-port U --target T [--round N] [--tcpdump-log F]
                        a c=1 run's requests split on the wire (a loopback capture): the target's way in, the
                        upstream, its way out; one JSON line of percentiles in µs
          report        --work DIR --out FILE                      RESULTS.md from the raw results
        """);
    return 2;
}
