"""English words that the corrector must leave alone although they look like a keyword.

"leaning" is one letter from "leaking" and "cooking" from "cooling", but a fence post that is
leaning is not a leak. Generated once from a US English word list (Debian's wamerican): every
word within the corrector's edit distance of the built-in and demo vocabulary that is not
itself in that vocabulary. Regenerate when the built-in vocabulary grows.
"""

from bot.intake.vocabulary import word_set

GUARD_WORDS: frozenset[str] = word_set(
    """
    able acre afire afternoons ague aide aired airs airy alarmingly anneal annuals annul
    appliances apps aqua are asp asps assemblage assembled assembler assemblers assembles
    assemblies assembly awry baas backboard backer backings backs bag bagging bags baked baking
    balk balked balking ban band bandaging banding bane bangs bani bank banked banking banning
    bans barb barbs bard bards bare bares barf barfs barging bark barked barking barks barn
    barns baseboards bask basked basking bass basted bathtubs bats bays beaker bear bears beck
    bee beef beefing been beep beers bees beet bellowing bested bier billowing binds binging
    black blacked blacking bleaker bled bleeping blends blind blinks blonds blow blowers blows
    boars bong bonging bounce bounced bouncer bouncers bounciest bower bowing brake bras
    breakers brew broker brown brunt buck bucked bucking buildings bung bunging bunt bunted
    burdening burger buried burn burners burns burped burping burred burring burs bursted bursts
    burying bused bushed busied bussed bust buster busting bustled butted cabinets cable cabled
    cage cake calk cam camel cameo camera camp cams can cane cans canto cants cape carbons
    carboy care cart carton cased cases cash cask cast caste cat caulks cause cave cease
    ceilings cent centrally centrals certain chamberlains chambermaid chanced chancel chances
    chancy chandeliers change chant charge charged chargers charges charier charmer charter
    chase cheat checkups chess chests chilled chillers chillier chipping chirruping chiseller
    choler chose circa circuited circuitry circuits cleanings cleansing clearing clearings
    cleaving climax climaxing climb clime clod clogs clone clop closed closer closes closest
    closets clot clove cloy coal coaling cod code coding coed cog coil coiling coke coking col
    cola colds cols colt coma comb combing comer comes comet comings comm commercially
    commercials compensate compressed compresses compression compressors condense condensed
    condensers condenses condition conditional conditioned conditioners conditions condoling
    cone consoling cont contender conveniences convenient convergence coo cooing cook cooker
    cooking cooled coolers cools coon coop cooper cooping coos coot cope coping cord core coring
    cote cove cowing cowl cowling crest cunt curtail curtails curtained dad damaged damages dawn
    dded deadbolts deaf deals dealt dean dear decal decrees deed defector defectors deflector
    deflectors deforesting degree dell derailing detaining detection detractor detractors dial
    diced did die dies diet digs diked dined dip dipping directors disclosed discolors
    discovered dishonored dishwashers dishwater dispensary dispense dispensed dispensers
    dispenses dispersal dispersed disperses displayed displays disposable disposals dissenter
    dived docs doer doers does dog don donor donors dons doom dooms dos dots dour downs downy
    drains drawn dread dried drier drippings drips drop dropping droppings drown dryers dual
    ducat ducats duck ducks duet duets dusk dusts dusty dyed dyer electrically electricians
    electrify electronic emergence emergencies estimable estimated estimates estimator evaporate
    evaporated evaporates evaporation evenings extinguish extinguished extinguishers
    extinguishes fabled facet failings fall falling fare faucets faults faulty feeds feel fees
    fells felt fenced fencer fences fie fife file filed filing fill fine fir fired fires firm
    firs five fixtures flailed flailing flakes flambes flame flamed flamer flamers flares
    fleshing flooder floods floored flooring floors flour flumes flushing foiled foiling food
    fore form frames freeing freeze freezers freezes friar fridges fringe fro frog froze fuel
    fuels fulls fully fume functional functions furl furnaces fused fuses fuss fuze gab gage
    gale game gape garaged garages garb gashing gated gates gave gaze gazetting gene genera
    generally generals generated generates generation generators genies genii genre gestating
    goings gong goring gout grabs grad gram grate gray group grouts grub gusting gutting had hag
    hale hall hallway halo halt hand handier handle handlebar handled handlers handles handymen
    hangs hank hare harry hat hater hating header heading heads heady heal healer healing heap
    heaping hear heard hearer hearing heart heated heaters heath heather heats heaving heed heft
    hefting held her herb herd hero hers hing hinged hinges hings hire hoe hoes hold holdings
    holed holes holing holy home hone hooding hope hording horn horns horny horse hos hosed
    hoses host housed houses hove hum humor hump hums hung hurray ices ignited ignites ignitions
    immediate inced infection infections inflected inflection inflections info injection
    injections insertion insertions inspecting inspector inspectors int intro inundation
    inundations jabs jibs job jogs jots joys keeling keels keening keens keep kicks kicky kink
    kitchens laces lack lake lane larch last lath lea lead leading leads leaf leafing leafs
    leaky lean leaning leans leap leaping leaps leas leasing leaving leek leeks leering lest
    lice lick lie lien life lightening lightning lightnings liked liken liker likes lime lined
    linen liner lines link lint lire list lite live loci locks loco loft lone look loot lose
    loss lot lots lout lubes luck lucks lures lust lutes machined machinery machines made maid
    mail maim mains make makers makes malted malting man marker marshaled marshals mavin meeting
    melded melding mete meted meteor meters metes meting microwaved microwaves min mind mine
    minim minis mink mint minx mirrors miter moaning mod model modem modes mods mole molted
    molting monoxides months mooning mope more mornings mote moth mound mounded mounts mourning
    mouth move muter neat neon nests net nets never newt nigh nights nighty non nook noun odors
    omen opened openers opens operation operators outlets outset outsider outsiders outsides
    outsize ovens overflows overgrowing overheads overhear overheard overhears overheat
    overheated overheats overs overt oxen packing paddle pain pains paints pall pane panels
    panes pant parch paring parring parsing partaking parting patchy path peddle peep pep pepped
    perch perking perter pictured piddle pie pies pike pikes pile piles pill pilots pimp pine
    pines pint pip piped piper pipers pipped pips pitch pivot plaint plopped plot plugs plum
    plumbed plumbers plumbings pluming plump plumper plumping plunder plunge plunged plungers
    plunges plus poach point poker poling poll polling pomp pooch poohing pooped pooping pope
    popes poring portion poser posturing pouch pouting powder powers preps pres pressured
    pressures pressurize preventative preventible preventing prevention preventives prey print
    prism procuring prop propped proton puddled puddles pug pulls pulp puma pumps punctures pup
    pupped purl quid quiet quilt quip quite quits quiz quoit quota quoted quotes quoth rage
    raising rang ranged ranger ranges rangy rash react readings readying reaming reaping rearing
    recesses redressed refrigerants refrigerate refrigerated refrigerates refrigerating
    refrigerators regarding regressed rehearses reloading remanding remoter remotes remove
    rending repaid repairs repressed rereading rerunning resent resets resort resorted resorts
    rest retarding retch revelries reveres reveries reversals reverse reversed rewarding ricing
    rider riding rifer rights riling rill riming rinsing riper rise risen risers rises risking
    river roach roil role rolls rooftops ruining ruse rusk rust safely sank sapped satay say
    saying scab scheduled scheduler schedulers schedules schooling scooting scorcher scorchers
    scorches scotched screens secured securer secures seer self sell selling sells selves serer
    serge serviced services servile sever sewed sewers sewing sharked sharking sharks shat sheaf
    sheaves shell shelled shelling shells shelve shelved shin shit shocker shooing shootings
    shop shopped shorting shot shout shouting shove showed showers showery showier shuck shucked
    shun shunt shuts sick sicking signals silenced silencer silencers silences silk sin sine
    sing sinks sins siring situation skeptic skewer skewing skin slabs slag slam slap slapped
    slat slaw slay slaying slewing slicking slink slit slob slop slopped slower slut small
    smalls smart smelly smelt smelted smelting smelts smocked smocking smoked smoker smokes
    smoky smoothing smote smut snapper snarks snipped snitch snuck socked softened softeners
    soil soiling sop sopped sower span spanked spanking spankings spanks spared spares sparing
    spark sparkled sparkling sparred sparring spars spay spaying spell spelled spelling
    spellings spells spigots spilt spine spins spiny spiraling spit splat splaying splint splits
    spoils spoilt spoke spool spooling sporing spraining sprang sprawling spreading sprig
    springier springs springy sprinkle sprinkled sprinklers sprinkles sprint sprung spun spying
    stab stack stacking stag staging staking staling standbys star stare staring stark stars
    starts stat stating stationed stationer stations stave staving stays steadying step stepped
    stewing stick stickpins stink stinking stitch stitching stock stocked stocking stockings
    stoke stoking stole stomp stomped stone stoop stooped stopper stoppered stops store stork
    storms stormy story stoves stow stray straying string strobes strode stroke strop stropped
    strove struck stuff stuffs stunk sty suck sundae sundry sunk supervisor supervisors supple
    sure surged surges swab swapped swatch sway swaying swell swelled swelling swellings swells
    swop swopped systems tabled tables tablet tack tale tame tamp tango tempi tempo temps tempt
    tenant tern thankless thermostatic thermostats thin thins thorough though thus tide tie tike
    tilde tiled tiles till tilt timed timer times tine tipped tipping tire title toady toddy
    toiled toiler toilets tome tomorrows tone toned torch torn touchy touché tough trace tracks
    tract traipsing tram trapped trapping trappings trick trig trims trio trip tripled tripling
    troubled troubles trough truck tuba tube tubed tubs tun tuna tuner tunes tuning tuns turd
    turf turfing turned turns unfit unite units unity usable vale value valved valves vend vends
    vest vests vet vets wack wader wafer wager wail waiter wale walks walls wank want war ward
    ware wares warms warn warp wars wart wary washed washers washes washings waster wasting
    waters watery waver weak wee weed weekended weekends weeks weep weer wees weft well welt wen
    wend wens wept were west wet whens wherever whet whew whey wide wife wild wile wiles wiling
    wills wilt wily wine wines wining wipe wipes wiping wired wireds wiry wise wises wisher
    wishing wive wives wizes wok won word wording wore workings works worm worming worn wot wren
    wring yards yarn yours yous
    """
)
