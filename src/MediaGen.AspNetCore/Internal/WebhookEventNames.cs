namespace MediaGen.AspNetCore.Internal;

/// <summary>The API's names for <see cref="WebhookEventFilter"/> values, as Replicate's <c>webhook_events_filter</c> spells them.</summary>
internal static class WebhookEventNames
{
    private static readonly (string Name, WebhookEventFilter Value)[] Names =
    [
        ("start", WebhookEventFilter.Start),
        ("output", WebhookEventFilter.Output),
        ("completed", WebhookEventFilter.Completed),
    ];

    /// <summary>The filter a request names; <see cref="WebhookEventFilter.Completed"/> when it names none.</summary>
    public static WebhookEventFilter Parse(string[]? names)
    {
        if (names is null)
        {
            return WebhookEventFilter.Completed;
        }

        var filter = WebhookEventFilter.None;
        foreach (var name in names)
        {
            var match = Array.FindIndex(Names, n => string.Equals(n.Name, name, StringComparison.Ordinal));
            if (match < 0)
            {
                throw new RequestValidationException("webhookEventsFilter", "Each event must be one of start, output, completed.");
            }

            filter |= Names[match].Value;
        }

        return filter;
    }

    public static string[] Format(WebhookEventFilter filter) =>
        [.. Names.Where(n => (filter & n.Value) != 0).Select(n => n.Name)];
}
