// Colour on a terminal only, and never when NO_COLOR is set to anything (https://no-color.org).
export const noColourAsked = (): boolean => 'NO_COLOR' in process.env && process.env.NO_COLOR !== ''

export const colourFor = (stream: { isTTY?: boolean }): boolean => Boolean(stream.isTTY) && !noColourAsked()
