# The teacher's picker, English (the reference catalog).

page-title = Find learning resources
heading = Find learning resources
heading-course = Find learning resources for { $course }
skip-to-results = Skip to results
search-label = Search all publishers
search-placeholder = Search by topic, title or standard
search-button = Search

## Starting point
started-from-course = Started from your course “{ $course }”.
started-from-request = Started from “{ $text }”, sent by your course.
show-everything = Show all resources

## Filters
filters = Filters
filters-count = { $count ->
    [one] 1 filter on
   *[other] { $count } filters on
}
apply-filters = Apply filters
done-filters = Show results
clear-filters = Clear all filters
sort = Sort by
sort-relevance = Best match
sort-newest = Newest
sort-title = Title (A–Z)
grade = Grade
grade-from = From
grade-to = To
grade-any = Any
kind = Kind
publisher = Publisher
subject = Subject
language = Language
license = Licence
free-only = Free to use only
standards = Standards
standards-search = Find a standard by code
standards-placeholder = e.g. 3.NF
standards-find = Find
standards-none = No standard in these results matches “{ $text }”.
facet-count = { $count } resources
remove-filter = Remove filter: { $label }
active-filters = Filters in use

## Results
result-count = { $count ->
    [0] No resources found
    [one] 1 resource
   *[other] { $count } resources
}
result-range = Showing { $from }–{ $to } of { $total }
no-results-help = Try other words, or remove a filter.
more-results = Show more results
previous-results = Previous results
select-resource = Select { $title }
details = Details
details-of = Details: { $title }
by-publisher = by { $publisher }
grades-range = { $from } to { $to }
grades-span = Grades { $from }–{ $to }
thumbnail-missing = No picture

## Kinds
kind-LTI_RESOURCE_LINK = Interactive tool
kind-LINK = Web page
kind-FILE = File
kind-HTML = Page
kind-IMAGE = Image

## Grades
grade-pk = Pre-K
grade-k = Kindergarten
grade-n = Grade { $n }
grade-he = Higher education

## Preview
preview-close = Close
preview-open = Open in a new tab
preview-open-hint = opens in a new tab
preview-tool-note = An interactive tool opens inside your course once inserted.
preview-add = Add to selection
preview-remove = Remove from selection
preview-selected = Selected
preview-description = Description
preview-publisher = Publisher
preview-kind = Kind
preview-grades = Grades
preview-license = Licence
license-terms = The publisher’s licence terms
license-of-site = Licence of { $site }
preview-license-none = Not stated
preview-free = Free to use
preview-languages = Language
preview-subjects = Subjects
preview-standards = Standards
preview-accessibility = Accessibility
preview-a11y-none = The publisher gives no accessibility information.
preview-updated = Updated
preview-not-found = This resource is no longer available.
a11y-features = Features
a11y-hazards = Hazards
a11y-modes = Access modes
a11y-controls = Controls
a11y-apis = Assistive technology APIs
a11y-summary = Summary

## Selection tray
selection = Your selection
selection-count = { $count ->
    [0] Nothing selected
    [one] 1 selected
   *[other] { $count } selected
}
selection-empty = Tick the resources you want to add; they stay here while you search.
selection-single = Your course accepts one resource: choosing another replaces it.
remove = Remove
insert = { $count ->
    [0] Insert
    [one] Insert 1 resource
   *[other] Insert { $count } resources
}
cancel = Cancel
choose-first = Choose at least one resource to insert, or cancel.
updating = Updating results…

## Languages (primary subtags)
lang-en = English
lang-es = Spanish
lang-fr = French
lang-de = German
lang-it = Italian
lang-pt = Portuguese
lang-nl = Dutch
lang-zh = Chinese
lang-ar = Arabic
lang-ja = Japanese
lang-ko = Korean
lang-ru = Russian
lang-pl = Polish
lang-vi = Vietnamese
lang-hi = Hindi
lang-he = Hebrew
lang-uk = Ukrainian
lang-la = Latin
lang-sv = Swedish
lang-da = Danish
lang-no = Norwegian
lang-fi = Finnish
lang-tr = Turkish
lang-el = Greek

## Accessibility terms (schema.org); a term without a message is shown as written
a11y-alternativeText = Alternative text
a11y-audioDescription = Audio description
a11y-braille = Braille
a11y-captions = Captions
a11y-closedCaptions = Closed captions
a11y-openCaptions = Open captions
a11y-describedMath = Described maths
a11y-displayTransformability = Adjustable display
a11y-highContrastAudio = High-contrast audio
a11y-highContrastDisplay = High-contrast display
a11y-largePrint = Large print
a11y-longDescription = Long descriptions
a11y-MathML = MathML
a11y-readingOrder = Logical reading order
a11y-signLanguage = Sign language
a11y-structuralNavigation = Structural navigation
a11y-synchronizedAudioText = Synchronised audio and text
a11y-tableOfContents = Table of contents
a11y-taggedPDF = Tagged PDF
a11y-tactileGraphic = Tactile graphics
a11y-transcript = Transcript
a11y-ttsMarkup = Text-to-speech markup
a11y-flashing = Flashing
a11y-noFlashingHazard = No flashing
a11y-motionSimulation = Motion simulation
a11y-noMotionSimulationHazard = No motion simulation
a11y-sound = Sound
a11y-noSoundHazard = No sound hazard
a11y-none = None
a11y-unknown = Unknown
a11y-auditory = Hearing
a11y-textual = Reading text
a11y-visual = Sight
a11y-tactile = Touch
a11y-colorDependent = Depends on colour
a11y-textOnVisual = Text in images
a11y-fullKeyboardControl = Full keyboard control
a11y-fullMouseControl = Full mouse control
a11y-fullSwitchControl = Full switch control
a11y-fullTouchControl = Full touch control
a11y-fullVoiceControl = Full voice control

## Errors
error-title = The launch was refused
error-advice = Close this window and start again from your course. If it happens again, give your district admin the message above.
returning = Returning to your course…
continue = Continue
