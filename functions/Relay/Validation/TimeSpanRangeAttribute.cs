using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Serverless.Relay.Validation;

/// <summary>
/// Bounds, inclusive, of a <see cref="TimeSpan"/> setting, written as <see cref="TimeSpan"/> text (<c>"00:00:01"</c>).
/// </summary>
/// <remarks>
/// NOTE: not <c>[Range(typeof(TimeSpan), …)]</c>: that constructor converts its bounds through a TypeConverter found
/// by reflection, which a trimmed, Native AOT build of the handler cannot keep. Same check, same message.
/// </remarks>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class TimeSpanRangeAttribute(string minimum, string maximum) : ValidationAttribute("The field {0} must be between {1} and {2}.")
{
    public string Minimum { get; } = minimum;

    public string Maximum { get; } = maximum;

    /// <summary>A missing value is valid, as with <see cref="RangeAttribute"/>: requiring one is another attribute's job.</summary>
    public override bool IsValid(object? value) =>
        value is not TimeSpan span || (span >= Parse(Minimum) && span <= Parse(Maximum));

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);

    private static TimeSpan Parse(string text) => TimeSpan.Parse(text, CultureInfo.InvariantCulture);
}
